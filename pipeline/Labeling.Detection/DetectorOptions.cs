namespace Labeling.Detection;

/// <summary>How detector sessions run. Bound from the <c>Detector</c> configuration section.</summary>
public sealed class DetectorOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Detector";

    /// <summary><c>cpu</c> (default), <c>cuda</c> or <c>tensorrt</c>. GPU providers need a build with <c>-p:LabelingGpu=true</c> (docs/gpu.md).</summary>
    public string ExecutionProvider { get; set; } = "cpu";

    /// <summary>When the requested GPU provider is not in this build or fails to start: true (default) runs on the CPU with a warning, false refuses to load.</summary>
    public bool FallbackToCpu { get; set; } = true;

    /// <summary>GPU device id for cuda/tensorrt.</summary>
    public int DeviceId { get; set; }

    /// <summary>Threads one inference may use; 0 lets ONNX Runtime decide (all cores).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>The default <see cref="MaxModelBytes"/>: 512 MiB, several times the largest Ultralytics export.</summary>
    public const long DefaultMaxModelBytes = 512L * 1024 * 1024;

    /// <summary>
    /// Largest model file accepted, checked from the file's (or blob's) size before it is read, and enforced while it is
    /// read: a model is read whole into memory, so this bounds what one model can take. Default 512 MiB; at most
    /// 2,147,483,591 (an ONNX file is one protobuf message, which stops at 2 GiB).
    /// </summary>
    public long MaxModelBytes { get; set; } = DefaultMaxModelBytes;

    /// <summary>What is wrong with these options, one sentence, or null when nothing is.</summary>
    public string? Validate() =>
        MaxModelBytes < 1 || MaxModelBytes > Array.MaxLength
            ? $"{Section}:{nameof(MaxModelBytes)} must be between 1 and {Array.MaxLength} bytes (an ONNX file is one protobuf message, under 2 GiB); it is {MaxModelBytes}."
            : null;
}
