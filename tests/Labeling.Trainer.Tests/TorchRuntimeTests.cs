using TorchSharp;

namespace Labeling.Trainer.Tests;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_Loads_AndComputes_WithOneDnnLimitedToAvx2()
    {
        TorchRuntime.Initialise(threads: 1);
        using var a = torch.ones(2, 3);
        using var b = (a * 2).sum();
        Assert.Equal(12f, b.item<float>());
        Assert.Equal("AVX2", Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA"));
        Assert.Equal(1, torch.get_num_threads());
    }

    [Fact]
    public void UnknownDevice_IsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice("tpu"));
        Assert.Contains("not cpu, cuda or auto", e.Message);
    }
}
