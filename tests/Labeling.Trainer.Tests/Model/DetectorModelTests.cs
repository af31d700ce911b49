using Labeling.Trainer.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Model;

public sealed class DetectorModelTests
{
    public DetectorModelTests() => TorchRuntime.Initialise(threads: 1);

    [Theory]
    [InlineData("tiny")]
    [InlineData("small")]
    public void FreshModel_HasOnlyFiniteParameters(string preset)
    {
        torch.manual_seed(3);
        using var model = new OpenVocabularyDetector(DetectorConfig.Preset(preset));
        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.True(parameter.isfinite().all().item<bool>(), $"{name} has non-finite values");
            Assert.True(parameter.abs().max().item<float>() < 100f, $"{name} holds huge values");
        }
    }

    [Theory]
    [InlineData("tiny", 55_874)]
    [InlineData("small", 1_231_226)]
    [InlineData("base", 4_786_154)]
    public void Presets_HaveTheDocumentedSizes(string preset, long parameters)
    {
        using var model = new OpenVocabularyDetector(DetectorConfig.Preset(preset));
        Assert.Equal(parameters, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Forward_GivesTheContractShapes_BoxesInsideTheInput_UnitEmbeddings()
    {
        torch.manual_seed(3);
        var config = DetectorConfig.Preset("tiny");
        using var model = new OpenVocabularyDetector(config);
        model.eval();
        using var scope = torch.NewDisposeScope();
        var images = torch.randn(2, 3, config.InputSize, config.InputSize);
        var (boxes, objectness, embeddings) = model.call(images);
        Assert.Equal([2L, config.Proposals, 4], boxes.shape);
        Assert.Equal([2L, config.Proposals], objectness.shape);
        Assert.Equal([2L, config.Proposals, config.EmbeddingDim], embeddings.shape);
        Assert.True(boxes.ge(0).all().item<bool>() && boxes.le(config.InputSize).all().item<bool>());
        Assert.True((embeddings.norm(-1) - 1).abs().max().item<float>() < 1e-4f);
        Assert.True(objectness.ge(0).all().item<bool>() && objectness.le(1).all().item<bool>());
    }

    [Theory]
    [InlineData("bogus")]
    public void UnknownPreset_IsAClearError(string preset) =>
        Assert.Contains("tiny, small or base", Assert.Throws<ArgumentException>(() => DetectorConfig.Preset(preset)).Message);

    [Fact]
    public void BadSizes_AreRefusedWithTheReason()
    {
        Assert.Contains("multiple of 16", Assert.Throws<ArgumentException>(() => new DetectorConfig { InputSize = 100 }.Validate()).Message);
        Assert.Contains("GroupNorm groups", Assert.Throws<ArgumentException>(() => new DetectorConfig { StageChannels = [16, 32, 60, 96] }.Validate()).Message);
        Assert.Contains("Proposals", Assert.Throws<ArgumentException>(() => new DetectorConfig { InputSize = 32, Proposals = 50 }.Validate()).Message);
    }

    /// <summary>The export's promise: the same images through TorchSharp and ONNX Runtime give the same boxes, objectness and embeddings.</summary>
    [Theory]
    [InlineData("tiny", 2, 7)]
    [InlineData("tiny", 3, 8)]
    [InlineData("small", 1, 7)]
    [InlineData("small", 2, 9)]
    public void Export_MatchesTorchSharp_OnOnnxRuntime(string preset, int batch, int seed)
    {
        torch.manual_seed(seed);
        var config = DetectorConfig.Preset(preset);
        using var model = new OpenVocabularyDetector(config);
        model.eval();
        using var scope = torch.NewDisposeScope();
        // Fresh weights give an almost flat heatmap whose neighbouring cells differ by less than the
        // two runtimes' rounding, so which of them is the local maximum could differ. Nudged weights
        // and a steeper heatmap head give distinct peaks, as a trained model has.
        using (torch.no_grad())
        {
            foreach (var p in model.parameters())
            {
                p.add_(torch.randn_like(p) * 0.05f);
            }

            model.ProposalHead.Heatmap.weight!.mul_(5f);
        }

        var images = torch.randn(batch, 3, config.InputSize, config.InputSize);
        var (boxes, objectness, embeddings) = model.call(images);

        var bytes = Labeling.Onnx.OnnxModelFile.ToBytes(DetectorOnnxExport.Build(model));
        using var session = new InferenceSession(bytes);
        var input = new DenseTensor<float>(images.data<float>().ToArray(), [batch, 3, config.InputSize, config.InputSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("images", input)]);
        var onnx = results.ToDictionary(r => r.Name, r => r.AsEnumerable<float>().ToArray());

        AssertClose(objectness.data<float>().ToArray(), onnx["objectness"], 1e-4f, "objectness");
        AssertClose(embeddings.data<float>().ToArray(), onnx["embeddings"], 1e-4f, "embeddings");
        AssertClose(boxes.data<float>().ToArray(), onnx["boxes"], 1e-4f, "boxes (input pixels)");
        Assert.Equal("region-embedding/1", session.ModelMetadata.CustomMetadataMap["labeling.contract"]);
        Assert.Equal(config.EmbeddingSpace, session.ModelMetadata.CustomMetadataMap["labeling.embedding_space"]);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"{what}: max difference {worst} > {tolerance}");
    }
}
