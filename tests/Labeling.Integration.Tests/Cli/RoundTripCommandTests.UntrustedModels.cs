using System.Text.Json.Nodes;
using Labeling.Cli;
using Labeling.Testing;

namespace Labeling.Integration.Tests.Cli;

/// <summary><c>labeling models add</c> with model files that must not reach ONNX Runtime: each is refused in one line, and nothing is registered or uploaded.</summary>
public sealed partial class RoundTripCommandTests
{
    public static TheoryData<string> HostileModelKinds => ["external-data", "foreign-domain", "local-function", "oversize"];

    [Theory]
    [MemberData(nameof(HostileModelKinds))]
    public async Task ModelsAdd_HostileModelFile_IsRefusedInOneLine_AndNothingIsRegisteredOrUploaded(string kind)
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);
        var path = HostileModels.Detector(Path.Combine(_folder.Path, "model.onnx"));
        var expected = kind switch
        {
            "external-data" => "model.onnx: initializer 'embeddings_const' stores its data outside the file (external data, location 'weights.bin'), which is refused.",
            "foreign-domain" => "model.onnx: node 'Gelu_boxes' runs operator 'Gelu' of domain 'com.microsoft', which is refused: a detector model uses the standard ONNX operators (domain ai.onnx) only.",
            "local-function" => "model.onnx: the model defines its own functions (labeling.local.Passthrough), which is refused: a detector model uses the standard ONNX operators only.",
            _ => $"model.onnx: the file is {N0(new FileInfo(path).Length)} bytes, over the limit of 1,000 bytes (Detector:MaxModelBytes), which is refused.",
        };
        switch (kind)
        {
            case "external-data":
                HostileModels.MoveToExternalData(path, "embeddings_const", "weights.bin");
                break;
            case "foreign-domain":
                HostileModels.RouteOutputThrough(path, "boxes", "com.microsoft", "Gelu");
                break;
            case "local-function":
                HostileModels.ProduceOutputByLocalFunction(path, "embeddings");
                break;
            default:
                var config = JsonNode.Parse(await File.ReadAllTextAsync(_config, Ct))!.AsObject();
                config["Detector"] = new JsonObject { ["MaxModelBytes"] = 1000 };
                await File.WriteAllTextAsync(_config, config.ToJsonString(), Ct);
                break;
        }

        var (code, output, error) = await RunAsync("models", "add", path, "--version", "v1", "--activate");

        Assert.True(code == 1, $"models add exited {code}: {output}{error}");
        Assert.Equal("error: " + expected, error.TrimEnd('\n', '\r'));
        Assert.Empty((await RunJsonAsync("models", "list")).EnumerateArray());
        Assert.False(File.Exists(Path.Combine(_folder.Path, "data", "blobs", "labeling", "models", "v1.onnx")));
    }

    [Fact]
    public async Task ModelsAdd_MaxModelBytesOutOfRange_FailsWithTheSettingsMessage()
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(_config, Ct))!.AsObject();
        config["Detector"] = new JsonObject { ["MaxModelBytes"] = 0 };
        await File.WriteAllTextAsync(_config, config.ToJsonString(), Ct);

        var (code, _, error) = await RunAsync("models", "add", Model(), "--version", "v1");

        Assert.Equal(1, code);
        Assert.Equal(
            "error: Detector:MaxModelBytes must be between 1 and 2147483591 bytes (an ONNX file is one protobuf message, under 2 GiB); it is 0.",
            error.TrimEnd('\n', '\r'));
    }

    [Fact]
    public async Task Worker_MaxModelBytesOutOfRange_StopsTheStart_WithTheSettingsMessage()
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(_config, Ct))!.AsObject();
        config["Detector"] = new JsonObject { ["MaxModelBytes"] = 3L << 30 };
        await File.WriteAllTextAsync(_config, config.ToJsonString(), Ct);
        using var output = new StringWriter();
        using var error = new StringWriter();
        // A guard only: a host that starts runs until cancelled, and then exits 0.
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(TimeSpan.FromSeconds(60));

        var code = await LabelingCli.RunAsync(["worker", "--urls", "http://127.0.0.1:0", "--config", _config], output, error, guard.Token);

        Assert.Equal(1, code);
        Assert.Equal(
            "error: Detector:MaxModelBytes must be between 1 and 2147483591 bytes (an ONNX file is one protobuf message, under 2 GiB); it is 3221225472.",
            error.ToString().TrimEnd('\n', '\r'));
    }

    private static string N0(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
