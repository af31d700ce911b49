using Google.Protobuf;
using Labeling.Onnx.Proto;

namespace Labeling.Onnx.Tests;

/// <summary>
/// <see cref="UntrustedOnnxModel"/> on writer-built graphs, mutated the way a hostile file would be: external data, a
/// foreign operator, a function of its own, wherever they hide (subgraphs of If and Loop, sparse initializers).
/// </summary>
public sealed class UntrustedOnnxModelTests
{
    private static ModelProto Small()
    {
        var g = new OnnxGraphBuilder("small");
        var x = g.Input("x", TensorElementType.Float, 1, 4);
        g.Identity(g.Add(x, g.Initializer("w", [1f, 2f, 3f, 4f], 1, 4)), "y");
        g.Output("y", TensorElementType.Float, 1, 4);
        return g.Build();
    }

    private static void External(TensorProto tensor, string location)
    {
        tensor.FloatData.Clear();
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
    }

    /// <summary>An If node in the main graph whose branches are <paramref name="then"/> and a plain Identity graph.</summary>
    private static ModelProto WithIf(GraphProto then)
    {
        var model = Small();
        var elseBranch = new GraphProto { Name = "else_graph" };
        elseBranch.Node.Add(new NodeProto { Name = "else_id", OpType = "Identity", Input = { "y" }, Output = { "else_out" } });
        var node = new NodeProto { Name = "branch", OpType = "If", Input = { "cond" }, Output = { "z" } };
        node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = then });
        node.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = elseBranch });
        model.Graph.Node.Add(node);
        return model;
    }

    private static string Refusal(ModelProto model) =>
        Assert.Throws<OnnxModelRefusedException>(() => UntrustedOnnxModel.Parse(model.ToByteArray(), "m.onnx")).Message;

    [Fact]
    public void EveryModelTheWriterBuilds_Passes()
    {
        foreach (var (name, build) in RepresentativeModels.All)
        {
            var model = UntrustedOnnxModel.Parse(build().ToByteArray(), name + ".onnx");
            Assert.NotEmpty(model.Graph.Node);
        }
    }

    [Fact]
    public void ExternalInitializer_IsRefused_NamingItAndItsLocation()
    {
        var model = Small();
        External(model.Graph.Initializer[0], "../../etc/passwd");

        Assert.Equal("m.onnx: initializer 'w' stores its data outside the file (external data, location '../../etc/passwd'), which is refused.", Refusal(model));
    }

    [Fact]
    public void ExternalDataEntriesWithoutTheLocationFlag_AreRefusedToo()
    {
        var model = Small();
        model.Graph.Initializer[0].ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "w.bin" });

        Assert.Contains("initializer 'w' stores its data outside the file", Refusal(model), StringComparison.Ordinal);
    }

    [Fact]
    public void ExternalTensorOfAConstantInsideAnIfBranch_IsRefused()
    {
        var then = new GraphProto { Name = "then_graph" };
        var value = OnnxTensor.Float("c", [1f], 1);
        External(value, "c.bin");
        then.Node.Add(new NodeProto
        {
            Name = "const_in_branch", OpType = "Constant", Output = { "then_out" },
            Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value } },
        });

        Assert.Equal(
            "m.onnx: the tensor of attribute 'value' of node 'const_in_branch' (in subgraph 'then_branch' of node 'branch') stores its data outside the file (external data, location 'c.bin'), which is refused.",
            Refusal(WithIf(then)));
    }

    [Fact]
    public void ExternalInitializerOfANestedSubgraph_IsRefused()
    {
        var inner = new GraphProto { Name = "inner" };
        var weight = OnnxTensor.Float("deep", [1f], 1);
        External(weight, "deep.bin");
        inner.Initializer.Add(weight);
        var then = new GraphProto { Name = "then_graph" };
        var loop = new NodeProto { Name = "loop", OpType = "Loop", Output = { "then_out" } };
        loop.Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = inner });
        then.Node.Add(loop);

        Assert.Equal(
            "m.onnx: initializer 'deep' (in subgraph 'body' of node 'loop' (in subgraph 'then_branch' of node 'branch')) stores its data outside the file (external data, location 'deep.bin'), which is refused.",
            Refusal(WithIf(then)));
    }

    [Fact]
    public void ExternalValuesOfASparseInitializer_AreRefused()
    {
        var model = Small();
        var values = OnnxTensor.Float("sparse_w", [1f], 1);
        External(values, "sparse.bin");
        model.Graph.SparseInitializer.Add(new SparseTensorProto { Values = values, Indices = OnnxTensor.Int64("sparse_w_idx", [0], 1), Dims = { 4 } });

        Assert.Contains("sparse initializer 'sparse_w' stores its data outside the file (external data, location 'sparse.bin')", Refusal(model), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("com.microsoft")]
    [InlineData("ai.onnx.ml")]
    [InlineData("com.example.custom")]
    public void OperatorOfAnotherDomain_IsRefused(string domain)
    {
        var model = Small();
        model.Graph.Node[0].Domain = domain;

        Assert.Equal(
            $"m.onnx: node '{model.Graph.Node[0].Name}' runs operator '{model.Graph.Node[0].OpType}' of domain '{domain}', which is refused: a detector model uses the standard ONNX operators (domain ai.onnx) only.",
            Refusal(model));
    }

    [Fact]
    public void OperatorOfAnotherDomainInsideAnIfBranch_IsRefused()
    {
        var then = new GraphProto { Name = "then_graph" };
        then.Node.Add(new NodeProto { Name = "gelu", OpType = "Gelu", Domain = "com.microsoft", Input = { "y" }, Output = { "then_out" } });

        Assert.Equal(
            "m.onnx: node 'gelu' (in subgraph 'then_branch' of node 'branch') runs operator 'Gelu' of domain 'com.microsoft', which is refused: a detector model uses the standard ONNX operators (domain ai.onnx) only.",
            Refusal(WithIf(then)));
    }

    [Fact]
    public void TheDefaultDomainSpelledAiOnnx_Passes()
    {
        var model = Small();
        model.Graph.Node[0].Domain = "ai.onnx";

        UntrustedOnnxModel.Check(model, "m.onnx");
    }

    [Fact]
    public void ModelLocalFunctions_AreRefused()
    {
        var model = Small();
        model.Functions.Add(new FunctionProto { Name = "Helper", Domain = "custom" });

        Assert.Equal(
            "m.onnx: the model defines its own functions (custom.Helper), which is refused: a detector model uses the standard ONNX operators only.",
            Refusal(model));
    }

    [Fact]
    public void TrainingGraphs_AreRefused()
    {
        var model = Small();
        model.TrainingInfo.Add(new TrainingInfoProto { Algorithm = new GraphProto { Name = "step" } });

        Assert.Contains("training_info", Refusal(model), StringComparison.Ordinal);
    }

    [Fact]
    public void OnnxRuntimesOwnFormat_IsRefused()
    {
        byte[] ort = [0x1c, 0, 0, 0, (byte)'O', (byte)'R', (byte)'T', (byte)'M', 0x14, 0, 0x1c, 0, 0x04, 0, 0x08, 0];

        Assert.Equal("m.ort: it is an ONNX Runtime format (.ort) file, not ONNX, which is refused.",
            Assert.Throws<OnnxModelRefusedException>(() => UntrustedOnnxModel.Parse(ort, "m.ort")).Message);
    }

    [Fact]
    public void BytesThatAreNotProtobuf_AreNotAModel()
    {
        var error = Assert.Throws<InvalidDataException>(() => UntrustedOnnxModel.Parse([0xff, 0xff, 0xff, 0xff], "junk.onnx"));

        Assert.StartsWith("junk.onnx is not an ONNX model file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SubgraphsNestedBeyondTheParsersLimit_AreNotAModel_NotAStackOverflow()
    {
        var graph = new GraphProto { Name = "leaf" };
        for (var depth = 0; depth < 200; depth++)
        {
            var node = new NodeProto { Name = $"if_{depth}", OpType = "If" };
            node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = graph });
            graph = new GraphProto { Name = $"g_{depth}", Node = { node } };
        }

        var model = Small();
        model.Graph = graph;

        Assert.Throws<InvalidDataException>(() => UntrustedOnnxModel.Parse(model.ToByteArray(), "deep.onnx"));
    }
}
