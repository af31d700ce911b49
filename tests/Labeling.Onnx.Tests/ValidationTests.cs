using Labeling.Onnx.Proto;

namespace Labeling.Onnx.Tests;

public sealed class ValidationTests
{
    private static OnnxGraphBuilder WithInput(out string x, int opset = 17)
    {
        var builder = new OnnxGraphBuilder("g", opset);
        x = builder.Input("x", TensorElementType.Float, "batch", 4);
        return builder;
    }

    [Fact]
    public void Validate_AcceptsAWellFormedGraph()
    {
        var builder = WithInput(out var x);
        builder.Output(builder.Relu(x), TensorElementType.Float, "batch", 4);

        Assert.Empty(builder.Validate());
    }

    [Fact]
    public void Validate_NamesAnUndefinedNodeInput()
    {
        var builder = WithInput(out _);
        builder.Output(builder.Relu("nope"), TensorElementType.Float, "batch", 4);

        var problem = Assert.Single(builder.Validate());
        Assert.Contains("'nope'", problem, StringComparison.Ordinal);
        Assert.Contains("not defined", problem, StringComparison.Ordinal);
        Assert.Contains("(Relu)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamesADuplicateName_AcrossInputsInitializersAndNodeOutputs()
    {
        var builder = WithInput(out var x);
        builder.Initializer("x", [1f], 1);
        builder.Node("Relu", [x], ["x"]);
        builder.Output("x", TensorElementType.Float, "batch", 4);

        var problem = Assert.Single(builder.Validate());
        Assert.Contains("'x' is defined 3 times", problem, StringComparison.Ordinal);
        Assert.Contains("graph input", problem, StringComparison.Ordinal);
        Assert.Contains("initializer", problem, StringComparison.Ordinal);
        Assert.Contains("(Relu)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamesAnInitializerWhoseDataDoesNotFitItsDims()
    {
        var builder = WithInput(out var x);
        var bad = new TensorProto { Name = "w", DataType = (int)TensorElementType.Float };
        bad.Dims.Add([2, 3]);
        bad.FloatData.Add([1f, 2f, 3f, 4f, 5f]);
        builder.Output(builder.Add(x, builder.Initializer(bad)), TensorElementType.Float, "batch", 4);

        var problem = Assert.Single(builder.Validate());
        Assert.Contains("'w'", problem, StringComparison.Ordinal);
        Assert.Contains("6 elements", problem, StringComparison.Ordinal);
        Assert.Contains("holds 5", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamesARawDataInitializerWithTheWrongByteCount()
    {
        var builder = WithInput(out var x);
        var bad = new TensorProto { Name = "raw", DataType = (int)TensorElementType.Int64, RawData = Google.Protobuf.ByteString.CopyFrom(new byte[12]) };
        bad.Dims.Add(2);
        builder.Output(builder.Add(x, builder.Initializer(bad)), TensorElementType.Float, "batch", 4);

        Assert.Contains("'raw'", Assert.Single(builder.Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void TypedInitializer_RefusesDataThatDoesNotFitItsDims()
    {
        var builder = WithInput(out _);

        var error = Assert.Throws<ArgumentException>(() => builder.Initializer("w", [1L, 2L, 3L], 2, 2));
        Assert.Contains("'w'", error.Message, StringComparison.Ordinal);
        Assert.Contains("4 elements", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamesAGraphOutputNobodyProduces()
    {
        var builder = WithInput(out var x);
        builder.Output(builder.Relu(x), TensorElementType.Float, "batch", 4);
        builder.Output("ghost", TensorElementType.Float, 1);

        var problem = Assert.Single(builder.Validate());
        Assert.Contains("graph output 'ghost' is not produced", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamesANodeThatReadsAValueBeforeItIsProduced()
    {
        var builder = WithInput(out var x);
        var y = builder.Node("Relu", ["later"], ["y"])[0];
        builder.Node("Sigmoid", [x], ["later"]);
        builder.Output(y, TensorElementType.Float, "batch", 4);

        var problem = Assert.Single(builder.Validate());
        Assert.Contains("reads 'later' before node", problem, StringComparison.Ordinal);
        Assert.Contains("(Sigmoid)", problem, StringComparison.Ordinal);
        Assert.Contains("topological order", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamesANodeWithAnEmptyOpType()
    {
        var builder = WithInput(out var x);
        builder.Output(builder.Node("", [x]), TensorElementType.Float, "batch", 4);

        Assert.Contains("empty op type", Assert.Single(builder.Validate()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(22)]
    public void Validate_RefusesAnOpsetOutside7To21(int opset)
    {
        var builder = WithInput(out var x, opset);
        builder.Output(builder.Relu(x), TensorElementType.Float, "batch", 4);

        Assert.Contains($"opset {opset}", Assert.Single(builder.Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AllowsAnEmptyStringAsAnOmittedOptionalInput()
    {
        var builder = WithInput(out var x);
        var max = builder.Initializer("max", [6f]);
        builder.Output(builder.Node("Clip", [x, "", max]), TensorElementType.Float, "batch", 4);

        Assert.Empty(builder.Validate());
    }

    [Fact]
    public void Build_ThrowsListingEveryProblem()
    {
        var builder = WithInput(out _);
        builder.Relu("nope");
        builder.Output("ghost", TensorElementType.Float, 1);

        var error = Assert.Throws<OnnxValidationException>(builder.Build);
        Assert.Equal(2, error.Problems.Count);
        Assert.Contains("'nope'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'ghost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GeneratedNames_AvoidNamesTheCallerAlreadyUses()
    {
        var builder = new OnnxGraphBuilder("g");
        var x = builder.Input("Relu_0", TensorElementType.Float, 2);
        var y = builder.Relu(x);
        var (values, indices) = builder.TopK(y, 1);
        builder.Output(values, TensorElementType.Float, 1);
        builder.Output(indices, TensorElementType.Int64, 1);

        Assert.NotEqual(x, y);
        Assert.NotEqual(values, indices);
        Assert.Empty(builder.Validate());
    }

    [Fact]
    public void OpsetSpecificHelpers_RefuseWhatTheOpsetCannotExpress()
    {
        var builder = new OnnxGraphBuilder("g", opset: 11);
        var x = builder.Input("x", TensorElementType.Float, 1, 8, 4, 4);
        var rois = builder.Input("rois", TensorElementType.Float, "r", 4);
        var batch = builder.Input("batch", TensorElementType.Int64, "r");

        var error = Assert.Throws<NotSupportedException>(() => builder.RoiAlign(x, rois, batch, 2, 2));
        Assert.Contains("opset 16", error.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => builder.Softmax(x, 1));
    }
}
