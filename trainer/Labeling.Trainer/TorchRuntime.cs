using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer;

/// <summary>
/// libtorch set-up for this process, done once before the first tensor: oneDNN limited to AVX2,
/// the thread count, and the device. Every entry point of the trainer (and its tests) calls
/// <see cref="Initialise"/> first.
/// </summary>
public static partial class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool _initialised;

    /// <summary>
    /// Prepares libtorch. <paramref name="threads"/>: intra-op threads (tests use 1; two-thread
    /// timings fall apart on a busy machine). <paramref name="device"/>: <c>cpu</c>, <c>cuda</c>, or
    /// <c>auto</c> (cuda when available). Later calls only change the thread count.
    /// </summary>
    public static Device Initialise(int threads = 1, string device = "cpu")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        lock (Gate)
        {
            if (!_initialised)
            {
                // On AVX-512 machines oneDNN's kernels randomly return NaN from finite inputs (seen
                // in up to 1 % of steps); AVX2 kernels gave none in ~20k steps. oneDNN reads the
                // variable from the C environment when libtorch loads, and .NET's
                // Environment.SetEnvironmentVariable does not reach the C environment on Linux.
                if (Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA") is null && OperatingSystem.IsLinux())
                {
                    _ = SetEnv("DNNL_MAX_CPU_ISA", "AVX2", 1);
                    Environment.SetEnvironmentVariable("DNNL_MAX_CPU_ISA", "AVX2");
                }

                _initialised = true;
            }

            torch.set_num_threads(threads);
            return ResolveDevice(device);
        }
    }

    /// <summary>The device a configuration value names; <c>cuda</c> without a CUDA build is a clear error.</summary>
    public static Device ResolveDevice(string device) => device.Trim().ToLowerInvariant() switch
    {
        "cpu" => CPU,
        "cuda" => cuda.is_available() ? CUDA : throw new InvalidOperationException("Trainer:Device is cuda but no CUDA device is available (build with -p:LabelingGpu=true on a GPU machine)."),
        "auto" => cuda.is_available() ? CUDA : CPU,
        _ => throw new ArgumentException($"Trainer:Device '{device}' is not cpu, cuda or auto.", nameof(device)),
    };

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
