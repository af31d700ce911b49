using System.Diagnostics;

namespace Labeling.Onnx.Tests;

/// <summary>
/// The independent check: the reference ONNX checker (Debian's python3-onnx, installed by
/// infra/local/install.sh) with full_check, which also runs strict shape inference against the
/// declared outputs. A missing checker fails the test; it never skips.
/// </summary>
public sealed class PythonCheckerTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private const string Script = "import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)";

    // onnx 1.12's checker accepts an INT attribute whose i field is absent, so presence of every
    // scalar attribute value (0, 0.0 and "" included) is asserted separately through the proto2 reader.
    private const string PresenceScript =
        "import onnx,sys; m=onnx.load(sys.argv[1]); A=onnx.AttributeProto; f={A.FLOAT:'f',A.INT:'i',A.STRING:'s',A.TENSOR:'t'}; " +
        "bad=[(n.name,a.name) for n in m.graph.node for a in n.attribute if a.type==A.UNDEFINED or (a.type in f and not a.HasField(f[a.type]))]; " +
        "sys.exit('attributes without type or value: %s' % bad if bad else 0)";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("labeling-onnx-check-");

    public void Dispose() => _directory.Delete(recursive: true);

    public static TheoryData<string> ModelKinds => [.. RepresentativeModels.All.Keys];

    [Theory]
    [MemberData(nameof(ModelKinds))]
    public async Task ReferenceChecker_AcceptsModel(string kind)
    {
        var path = Path.Combine(_directory.FullName, kind + ".onnx");
        OnnxModelFile.Save(RepresentativeModels.All[kind](), path);

        var (exitCode, output) = await RunPythonAsync(TestContext.Current.CancellationToken, "-c", Script, path);

        Assert.True(exitCode == 0, $"onnx.checker.check_model(full_check=True) rejected '{kind}' (exit {exitCode}):\n{output}");
    }

    [Theory]
    [MemberData(nameof(ModelKinds))]
    public async Task ReferenceReader_SeesEveryAttributeTypeAndValue(string kind)
    {
        var path = Path.Combine(_directory.FullName, kind + ".onnx");
        OnnxModelFile.Save(RepresentativeModels.All[kind](), path);

        var (exitCode, output) = await RunPythonAsync(TestContext.Current.CancellationToken, "-c", PresenceScript, path);

        Assert.True(exitCode == 0, $"onnx (proto2 reader) misses attribute types or values in '{kind}' (exit {exitCode}):\n{output}");
    }

    [Fact]
    public async Task ReferenceReader_FlagsAnAttributeWithoutItsValue()
    {
        var builder = new OnnxGraphBuilder("g");
        var x = builder.Input("x", TensorElementType.Float, 2, 3);
        builder.Output(builder.Concat([x, x], 0), TensorElementType.Float, 4, 3);
        var model = builder.Build();
        model.Graph.Node[0].Attribute[0].ClearI();
        var path = Path.Combine(_directory.FullName, "no-value.onnx");
        OnnxModelFile.Save(model, path);

        var (exitCode, output) = await RunPythonAsync(TestContext.Current.CancellationToken, "-c", PresenceScript, path);

        Assert.True(exitCode != 0, "the presence check accepted an INT attribute without i");
        Assert.Contains("axis", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReferenceChecker_RejectsABrokenModel_SoItsApprovalMeansSomething()
    {
        var builder = new OnnxGraphBuilder("broken");
        var x = builder.Input("x", TensorElementType.Float, 2, 3);
        builder.Output(builder.Node("NoSuchOperator", [x]), TensorElementType.Float, 2, 3);
        var path = Path.Combine(_directory.FullName, "broken.onnx");
        OnnxModelFile.Save(builder.Build(), path);

        var (exitCode, output) = await RunPythonAsync(TestContext.Current.CancellationToken, "-c", Script, path);

        Assert.True(exitCode != 0, "the checker accepted an unknown operator");
        Assert.Contains("NoSuchOperator", output, StringComparison.Ordinal);
    }

    internal static async Task<(int ExitCode, string Output)> RunPythonAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        if (!File.Exists(Python))
        {
            Assert.Fail($"{Python} is missing: the ONNX reference checker cannot run. Run infra/local/install.sh (python3-onnx).");
        }
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var output = (await stdout) + (await stderr);
        if (output.Contains("No module named 'onnx'", StringComparison.Ordinal))
        {
            Assert.Fail($"python3-onnx is not installed, so the ONNX reference checker cannot run; run infra/local/install.sh.\n{output}");
        }
        return (process.ExitCode, output);
    }
}
