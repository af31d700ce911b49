using Labeling.Onnx.Proto;

namespace Labeling.Onnx.Tests;

public sealed class RoundTripTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("labeling-onnx-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void DefaultValuedAttributes_KeepTypeAndValue_AfterSerializeAndParse()
    {
        var builder = new OnnxGraphBuilder("g");
        var x = builder.Input("x", TensorElementType.Float, 1);
        var y = builder.Node("Custom", [x],
            OnnxAttribute.Int("zero", 0),
            OnnxAttribute.Float("zerof", 0f),
            OnnxAttribute.String("empty", ""),
            OnnxAttribute.Ints("no_ints"),
            OnnxAttribute.Floats("no_floats"));
        builder.Output(y, TensorElementType.Float, 1);

        var parsed = OnnxModelFile.FromBytes(OnnxModelFile.ToBytes(builder.Build()));
        var attributes = parsed.Graph.Node.Single().Attribute.ToDictionary(a => a.Name);

        Assert.Equal(AttributeProto.Types.AttributeType.Int, attributes["zero"].Type);
        Assert.True(attributes["zero"].HasI);
        Assert.Equal(0, attributes["zero"].I);
        Assert.Equal(AttributeProto.Types.AttributeType.Float, attributes["zerof"].Type);
        Assert.True(attributes["zerof"].HasF);
        Assert.Equal(AttributeProto.Types.AttributeType.String, attributes["empty"].Type);
        Assert.True(attributes["empty"].HasS);
        Assert.True(attributes["empty"].S.IsEmpty);
        Assert.Equal(AttributeProto.Types.AttributeType.Ints, attributes["no_ints"].Type);
        Assert.Equal(AttributeProto.Types.AttributeType.Floats, attributes["no_floats"].Type);
    }

    [Fact]
    public void MetadataProducerAndOpset_RoundTripThroughAFile()
    {
        var builder = new OnnxGraphBuilder("detector");
        var x = builder.Input("images", TensorElementType.Float, "batch", 3, 0, 64);
        builder.Output(builder.Sigmoid(x), TensorElementType.Float, "batch", 3, 0, 64);
        builder.Metadata("labeling.contract", "region-embedding/1");
        builder.Metadata("labeling.embedding_space", "first");
        builder.Metadata("labeling.embedding_space", "hashbow-256");
        builder.Metadata("labeling.note", "");
        var path = Path.Combine(_directory.FullName, "model.onnx");

        OnnxModelFile.Save(builder.Build(), path);
        var loaded = OnnxModelFile.Load(path);

        Assert.Equal(
            [("labeling.contract", "region-embedding/1"), ("labeling.embedding_space", "hashbow-256"), ("labeling.note", "")],
            loaded.MetadataProps.Select(p => (p.Key, p.Value)));
        Assert.Equal("labeling", loaded.ProducerName);
        Assert.Equal(8, loaded.IrVersion);
        Assert.Equal(17, loaded.OpsetImport.Single().Version);
        var dims = loaded.Graph.Input.Single().Type.TensorType.Shape.Dim;
        Assert.Equal("batch", dims[0].DimParam);
        Assert.Equal(TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue, dims[2].ValueCase);
        Assert.Equal(0, dims[2].DimValue);
        Assert.Empty(Directory.GetFiles(_directory.FullName, "*.tmp"));
    }

    [Fact]
    public void Save_ReplacesAnExistingFile()
    {
        var path = Path.Combine(_directory.FullName, "model.onnx");
        File.WriteAllText(path, "not a model");
        var builder = new OnnxGraphBuilder("g");
        builder.Output(builder.Relu(builder.Input("x", TensorElementType.Float, 1)), TensorElementType.Float, 1);

        OnnxModelFile.Save(builder.Build(), path);

        Assert.Equal("g", OnnxModelFile.Load(path).Graph.Name);
    }
}
