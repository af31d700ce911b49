using Labeling.Detection;
using Labeling.Onnx;
using Labeling.Testing;

namespace Labeling.Detection.Tests;

/// <summary>Model files that are not detectors, and execution providers this build does not have.</summary>
public sealed class LoadingTests : IDisposable
{
    private readonly TestFolder _folder = new();

    private string FixedModel()
    {
        var path = _folder.File("fixed.onnx");
        DetectorModels.ConstantFixedVocabulary(path, new float[,] { { 1, 1, 1, 1, 1 } }, ["a"]);
        return path;
    }

    [Fact]
    public void MissingFile_NotAModel_AndNoContract_AreClearErrors()
    {
        var garbage = _folder.File("garbage.onnx");
        File.WriteAllBytes(garbage, Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray());
        var plain = _folder.File("plain.onnx");
        var g = new OnnxGraphBuilder("plain");
        g.Identity(g.Input("images", TensorElementType.Float, 1, 3, 8, 8), "out");
        g.Output("out", TensorElementType.Float, 1, 3, 8, 8);
        OnnxModelFile.Save(g.Build(), plain);

        Assert.Throws<FileNotFoundException>(() => OnnxDetector.Load(_folder.File("none.onnx"), new DetectorOptions()));
        Assert.Contains("cannot load", Assert.Throws<DetectorContractException>(() => OnnxDetector.Load(garbage, new DetectorOptions())).Message, StringComparison.Ordinal);
        Assert.Contains("neither detector contract", Assert.Throws<DetectorContractException>(() => OnnxDetector.Load(plain, new DetectorOptions())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RegionEmbeddingModel_WithoutItsEmbeddingsOutput_IsRefused()
    {
        var path = _folder.File("no-embeddings.onnx");
        var g = new OnnxGraphBuilder("no_embeddings");
        var images = g.Input("images", TensorElementType.Float, "batch", 3, 8, 8);
        g.Identity(g.ReduceMean(images, [1, 2, 3], keepDims: false), "objectness");
        g.Identity(g.ReduceMean(images, [1], keepDims: false), "boxes");
        g.Output("objectness", TensorElementType.Float, "batch");
        g.Output("boxes", TensorElementType.Float, "batch", 8, 8);
        foreach (var (key, value) in new[] { ("labeling.contract", "region-embedding/1"), ("labeling.mean", "0,0,0"), ("labeling.std", "1,1,1"), ("labeling.logit_scale", "1"), ("labeling.embedding_space", "hashbow-8") })
        {
            g.Metadata(key, value);
        }

        OnnxModelFile.Save(g.Build(), path);

        Assert.Contains("'embeddings' is missing", Assert.Throws<DetectorContractException>(() => OnnxDetector.Load(path, new DetectorOptions())).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("tensorrt")]
    public void GpuProvider_OnTheCpuBuild_FallsBackToCpu_WhenAllowed(string provider)
    {
        using var detector = OnnxDetector.Load(FixedModel(), new DetectorOptions { ExecutionProvider = provider, FallbackToCpu = true });

        Assert.Equal("cpu", detector.ExecutionProvider);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("tensorrt")]
    public void GpuProvider_OnTheCpuBuild_IsRefusedClearly_WhenFallbackIsOff(string provider)
    {
        var error = Assert.Throws<DetectorContractException>(() => OnnxDetector.Load(FixedModel(), new DetectorOptions { ExecutionProvider = provider, FallbackToCpu = false }));

        Assert.Contains("LabelingGpu", error.Message, StringComparison.Ordinal);
        Assert.Contains(provider, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownProvider_IsRefused() =>
        Assert.Throws<ArgumentException>(() => OnnxDetector.Load(FixedModel(), new DetectorOptions { ExecutionProvider = "tpu" }));

    public void Dispose() => _folder.Dispose();
}
