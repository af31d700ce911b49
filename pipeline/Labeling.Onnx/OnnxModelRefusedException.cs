namespace Labeling.Onnx;

/// <summary>
/// A model file refused by <see cref="UntrustedOnnxModel"/> before any runtime sees it. The message is one line:
/// <c>FILE: REASON</c>.
/// </summary>
public sealed class OnnxModelRefusedException(string fileName, string reason) : Exception($"{fileName}: {reason}")
{
    /// <summary>The file (or blob) name the model was read from.</summary>
    public string FileName { get; } = fileName;

    /// <summary>Why it was refused, one sentence.</summary>
    public string Reason { get; } = reason;
}
