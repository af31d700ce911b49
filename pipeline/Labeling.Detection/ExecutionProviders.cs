using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace Labeling.Detection;

/// <summary>
/// Chooses the ONNX Runtime execution provider from configuration. The CPU package lists only
/// CPUExecutionProvider; asking it for CUDA throws EntryPointNotFoundException or "CUDA execution
/// provider is not enabled in this build": detected here, then CPU with a warning or a clear refusal.
/// </summary>
internal static partial class ExecutionProviders
{
    public static string Configure(SessionOptions session, DetectorOptions options, ILogger logger)
    {
        var wanted = (options.ExecutionProvider ?? "cpu").Trim().ToLowerInvariant();
        if (wanted == "cpu")
        {
            return "cpu";
        }

        var ortName = wanted switch
        {
            "cuda" => "CUDAExecutionProvider",
            "tensorrt" => "TensorrtExecutionProvider",
            _ => throw new ArgumentException($"Unknown execution provider '{options.ExecutionProvider}': use cpu, cuda or tensorrt."),
        };

        string? problem = null;
        var available = OrtEnv.Instance().GetAvailableProviders();
        if (!available.Contains(ortName))
        {
            problem = $"this ONNX Runtime build has no {ortName} (available: {string.Join(", ", available)}); build with -p:LabelingGpu=true on a GPU machine";
        }
        else
        {
            try
            {
                if (wanted == "cuda")
                {
                    session.AppendExecutionProvider_CUDA(options.DeviceId);
                }
                else
                {
                    session.AppendExecutionProvider_Tensorrt(options.DeviceId);
                    session.AppendExecutionProvider_CUDA(options.DeviceId);
                }

                return wanted;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or OnnxRuntimeException or DllNotFoundException)
            {
                problem = $"{ortName} failed to start: {e.Message}";
            }
        }

        if (!options.FallbackToCpu)
        {
            throw new DetectorContractException($"Execution provider '{wanted}' is unavailable: {problem}. Set Detector:FallbackToCpu=true to run on the CPU instead.");
        }

        Log.FallingBack(logger, wanted, problem);
        return "cpu";
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Execution provider {Provider} is unavailable ({Problem}); running on the CPU.")]
        public static partial void FallingBack(ILogger logger, string provider, string problem);
    }
}
