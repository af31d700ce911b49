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
}
