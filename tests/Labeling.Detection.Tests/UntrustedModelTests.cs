using Labeling.Testing;

namespace Labeling.Detection.Tests;

/// <summary>
/// Model files are untrusted input: <see cref="OnnxDetector.Load(string, DetectorOptions, Microsoft.Extensions.Logging.ILogger?)"/> checks them itself before ONNX Runtime sees
/// them. Each hostile model here loads in ONNX Runtime as it is, so only those checks stop it.
/// </summary>
public sealed class UntrustedModelTests : IDisposable
{
    private readonly TestFolder _folder = new();

    private static string Refusal(string path, DetectorOptions? options = null)
    {
        var error = Assert.Throws<DetectorContractException>(() => OnnxDetector.Load(path, options ?? new DetectorOptions { IntraOpThreads = 1 }).Dispose());
        Assert.DoesNotContain('\n', error.Message);
        return error.Message;
    }

    [Fact]
    public void Model_WhoseInitializerLivesInAnExternalFile_IsRefused_WithoutReadingThatFile()
    {
        var path = HostileModels.Detector(_folder.File("model.onnx"));
        HostileModels.MoveToExternalData(path, "boxes_const", "boxes_const.bin");

        Assert.Equal(
            "model.onnx: initializer 'boxes_const' stores its data outside the file (external data, location 'boxes_const.bin'), which is refused.",
            Refusal(path));
    }

    [Fact]
    public void Model_WithAnOperatorOfAnotherDomain_IsRefused()
    {
        var path = HostileModels.Detector(_folder.File("model.onnx"));
        HostileModels.RouteOutputThrough(path, "objectness", "com.microsoft", "Gelu");

        Assert.Equal(
            "model.onnx: node 'Gelu_objectness' runs operator 'Gelu' of domain 'com.microsoft', which is refused: a detector model uses the standard ONNX operators (domain ai.onnx) only.",
            Refusal(path));
    }

    [Fact]
    public void Model_WithItsOwnFunctions_IsRefused()
    {
        var path = HostileModels.Detector(_folder.File("model.onnx"));
        HostileModels.ProduceOutputByLocalFunction(path, "objectness");

        Assert.Equal(
            "model.onnx: the model defines its own functions (labeling.local.Passthrough), which is refused: a detector model uses the standard ONNX operators only.",
            Refusal(path));
    }

    [Fact]
    public void Model_OverTheConfiguredSize_IsRefused_BeforeItIsRead()
    {
        var path = HostileModels.Detector(_folder.File("model.onnx"));
        var size = new FileInfo(path).Length;

        Assert.Equal(
            $"model.onnx: the file is {N0(size)} bytes, over the limit of {N0(size - 1)} bytes (Detector:MaxModelBytes), which is refused.",
            Refusal(path, new DetectorOptions { IntraOpThreads = 1, MaxModelBytes = size - 1 }));
        using var atTheLimit = OnnxDetector.Load(path, new DetectorOptions { IntraOpThreads = 1, MaxModelBytes = size });
        Assert.Equal(DetectorContract.RegionEmbedding, atTheLimit.Info.Contract);
    }

    [Fact]
    public void DetectorOptions_MaxModelBytes_HasASafeDefault_AndIsValidated()
    {
        Assert.Equal(512L * 1024 * 1024, new DetectorOptions().MaxModelBytes);
        Assert.Null(new DetectorOptions().Validate());
        Assert.Equal(
            "Detector:MaxModelBytes must be between 1 and 2147483591 bytes (an ONNX file is one protobuf message, under 2 GiB); it is 0.",
            new DetectorOptions { MaxModelBytes = 0 }.Validate());
        Assert.NotNull(new DetectorOptions { MaxModelBytes = 3L << 30 }.Validate());
    }

    public void Dispose() => _folder.Dispose();

    private static string N0(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
