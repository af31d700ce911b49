using System.Globalization;
using Labeling.Onnx;
using Labeling.Trainer.Ops;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Labeling.Trainer.Model;

/// <summary>
/// Writes an <see cref="OpenVocabularyDetector"/> as a <c>region-embedding/1</c> ONNX model through
/// the project's own writer: the same graph, op for op, with the trained weights as initializers
/// and every metadata key the workers read. Opset 17, dynamic batch.
/// </summary>
public static class DetectorOnnxExport
{
    /// <summary>Exports <paramref name="model"/> to <paramref name="path"/>; the file is written whole or not at all.</summary>
    public static void Export(OpenVocabularyDetector model, string path, string scoreRule = "geometric-mean")
    {
        ArgumentNullException.ThrowIfNull(model);
        var bytes = OnnxModelFile.ToBytes(Build(model, scoreRule));
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The graph of <paramref name="model"/> (exposed for tests).</summary>
    public static Labeling.Onnx.Proto.ModelProto Build(OpenVocabularyDetector model, string scoreRule = "geometric-mean")
    {
        using var _ = no_grad();
        var c = model.Config;
        var g = new Writer(new OnnxGraphBuilder("labeling_open_vocabulary_detector"));
        var x = g.B.Input("images", TensorElementType.Float, "batch", 3, c.InputSize, c.InputSize);

        string? c3 = null;
        for (var i = 0; i < model.StemConvs.Count; i++)
        {
            var stride = i % 2 == 0 ? 2L : 1L;
            x = g.B.Relu(g.GroupNorm(g.Conv(x, model.StemConvs[i], stride, 1, $"stem{i}"), model.StemNorms[i], c.NormGroups));
            if (i == 5)
            {
                c3 = x;
            }
        }

        var (lateral3, lateral4, smooth, smoothNorm) = model.Pyramid;
        var p4 = g.Conv(x, lateral4, 1, 0, "lateral4");
        var p3 = g.B.Add(g.Conv(c3!, lateral3, 1, 0, "lateral3"), g.B.Resize(p4, scales: [1f, 1f, 2f, 2f], mode: "nearest", coordinateTransformationMode: "asymmetric", nearestMode: "floor"));
        var features = g.B.Relu(g.GroupNorm(g.Conv(p3, smooth, 1, 1, "smooth"), smoothNorm, c.NormGroups));

        var (proposalConv, heatmapConv, distanceConv) = model.ProposalHead;
        var h = g.B.Relu(g.Conv(features, proposalConv, 1, 1, "proposal"));
        var heat = g.B.Sigmoid(g.Conv(h, heatmapConv, 1, 0, "heatmap"));
        var dist = g.B.Mul(g.B.Node("Softplus", [g.Conv(h, distanceConv, 1, 0, "distances")]), g.Float(c.FeatureStride));

        // Top-K local maxima of the heatmap, as OpenVocabularyDetector.Proposals.
        var map = c.InputSize / c.FeatureStride;
        var pooled = g.B.MaxPool(heat, [3, 3], [1, 1], [1, 1, 1, 1]);
        var isPeak = g.B.Cast(g.B.Node("Equal", [heat, pooled]), TensorElementType.Float);
        var ranked = g.B.Sub(heat, g.B.Mul(g.B.Sub(g.Float(1f), isPeak), g.Float(2f)));
        var (values, index) = g.B.TopK(g.B.Reshape(ranked, 0, -1), c.Proposals, axis: 1);
        var scores = g.B.Relu(values);
        var cells = g.Long(map);
        var half = g.Float(0.5f);
        var strideValue = g.Float(c.FeatureStride);
        var cx = g.B.Mul(g.B.Add(g.B.Cast(g.B.Node("Mod", [index, cells]), TensorElementType.Float), half), strideValue);
        var cy = g.B.Mul(g.B.Add(g.B.Cast(g.B.Div(index, cells), TensorElementType.Float), half), strideValue);
        var gathered = g.B.Node("GatherElements",
            [g.B.Reshape(dist, 0, 4, -1), g.B.Node("Tile", [g.B.Unsqueeze(index, 1), g.Longs(1, 4, 1)])],
            OnnxAttribute.Int("axis", 2));
        string Side(long i) => g.B.Squeeze(g.B.Slice(gathered, [i], [i + 1], [1]), 1);
        var proposals = g.B.Clip(g.B.Concat(
            [
                g.B.Unsqueeze(g.B.Sub(cx, Side(0)), 2), g.B.Unsqueeze(g.B.Sub(cy, Side(1)), 2),
                g.B.Unsqueeze(g.B.Add(cx, Side(2)), 2), g.B.Unsqueeze(g.B.Add(cy, Side(3)), 2),
            ], 2), 0f, c.InputSize);

        // RoIAlign over every image's K proposals: batch indices 0,…,0,1,…,1,… for a dynamic batch.
        var rois = g.B.Reshape(proposals, -1, 4);
        var batch = g.B.Squeeze(g.B.Slice(g.B.Shape(x), [0], [1], [0]), 0);
        var range = g.B.Node("Range", [g.LongScalar(0), batch, g.LongScalar(1)]);
        var batchIndices = g.B.Reshape(g.B.Node("Tile", [g.B.Unsqueeze(range, 1), g.Longs(1, c.Proposals)]), -1);
        var roiFeatures = g.B.RoiAlign(features, rois, batchIndices, c.RoiSize, c.RoiSize, c.RoiSamplingRatio, 1f / c.FeatureStride);
        var (fc1, fc2, deltaLayer, embeddingLayer) = model.BoxHead;
        var hidden = g.B.Relu(g.Linear(g.B.Reshape(roiFeatures, -1, c.PyramidChannels * c.RoiSize * c.RoiSize), fc1, "fc1"));
        hidden = g.B.Relu(g.Linear(hidden, fc2, "fc2"));
        var deltas = g.Linear(hidden, deltaLayer, "deltas");
        var embeddings = g.B.L2Normalize(g.Linear(hidden, embeddingLayer, "embedding"), axis: -1);

        // Decode, as Boxes.DecodeDeltas computes it (same operations in the same order).
        string Column(string t, long i) => g.B.Slice(t, [i], [i + 1], [1]);
        var w = g.B.Sub(Column(rois, 2), Column(rois, 0));
        var hh = g.B.Sub(Column(rois, 3), Column(rois, 1));
        var px = g.B.Add(Column(rois, 0), g.B.Mul(half, w));
        var py = g.B.Add(Column(rois, 1), g.B.Mul(half, hh));
        var weights = DeltaWeights.Default;
        var pcx = g.B.Add(g.B.Mul(g.B.Div(Column(deltas, 0), g.Float(weights.X)), w), px);
        var pcy = g.B.Add(g.B.Mul(g.B.Div(Column(deltas, 1), g.Float(weights.Y)), hh), py);
        var halfWidth = g.B.Mul(g.B.Mul(half, g.B.Exp(g.B.Clip(g.B.Div(Column(deltas, 2), g.Float(weights.W)), max: Boxes.MaxLogScale))), w);
        var halfHeight = g.B.Mul(g.B.Mul(half, g.B.Exp(g.B.Clip(g.B.Div(Column(deltas, 3), g.Float(weights.H)), max: Boxes.MaxLogScale))), hh);
        var refined = g.B.Clip(g.B.Concat(
            [g.B.Sub(pcx, halfWidth), g.B.Sub(pcy, halfHeight), g.B.Add(pcx, halfWidth), g.B.Add(pcy, halfHeight)], 1),
            0f, c.InputSize);

        g.B.Identity(g.B.Reshape(refined, -1, c.Proposals, 4), "boxes");
        g.B.Identity(scores, "objectness");
        g.B.Identity(g.B.Reshape(embeddings, -1, c.Proposals, c.EmbeddingDim), "embeddings");
        g.B.Output("boxes", TensorElementType.Float, "batch", c.Proposals, 4);
        g.B.Output("objectness", TensorElementType.Float, "batch", c.Proposals);
        g.B.Output("embeddings", TensorElementType.Float, "batch", c.Proposals, c.EmbeddingDim);

        static string Number(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        g.B.Metadata("labeling.contract", "region-embedding/1");
        g.B.Metadata("labeling.input_size", c.InputSize.ToString(CultureInfo.InvariantCulture));
        g.B.Metadata("labeling.mean", string.Join(",", c.Mean.Select(Number)));
        g.B.Metadata("labeling.std", string.Join(",", c.Std.Select(Number)));
        g.B.Metadata("labeling.logit_scale", Number(c.LogitScale));
        g.B.Metadata("labeling.logit_bias", Number(model.LogitBias.item<float>()));
        g.B.Metadata("labeling.score_rule", scoreRule);
        g.B.Metadata("labeling.embedding_space", c.EmbeddingSpace);
        g.B.Metadata("labeling.trainer", "Labeling.Trainer open-vocabulary detector");
        return g.B.Build();
    }

    /// <summary>The builder with the few helpers the export repeats: weights from modules and named constants.</summary>
    private sealed class Writer(OnnxGraphBuilder builder)
    {
        private int _constants;

        public OnnxGraphBuilder B { get; } = builder;

        public string Float(float value) => B.Initializer($"const{_constants++}", [value], 1);

        public string Long(long value) => B.Initializer($"const{_constants++}", [value], 1);

        public string LongScalar(long value) => B.Initializer($"const{_constants++}", [value]);

        public string Longs(params long[] values) => B.Initializer($"const{_constants++}", values, values.Length);

        public string Conv(string x, Conv2d conv, long stride, long pad, string name)
        {
            var weight = B.Initializer($"{name}.weight", Values(conv.weight!), conv.weight!.shape);
            var bias = conv.bias is null ? null : B.Initializer($"{name}.bias", Values(conv.bias), conv.bias.shape);
            return B.Conv(x, weight, bias, strides: [stride, stride], pads: [pad, pad, pad, pad]);
        }

        public string Linear(string x, TorchSharp.Modules.Linear linear, string name) =>
            B.Gemm(x, B.Initializer($"{name}.weight", Values(linear.weight!), linear.weight!.shape),
                B.Initializer($"{name}.bias", Values(linear.bias!), linear.bias!.shape), transB: true);

        /// <summary>GroupNorm (eps 1e-5, TorchSharp's default, which the model uses) as opset 17 can say it: per-group InstanceNormalization on [B,G,−1], then the affine per channel.</summary>
        public string GroupNorm(string x, TorchSharp.Modules.GroupNorm norm, int groups)
        {
            var channels = norm.weight!.shape[0];
            var grouped = B.Reshape(x, 0, groups, -1);
            var ones = B.Initializer($"gn{_constants}.ones", Enumerable.Repeat(1f, groups).ToArray(), groups);
            var zeros = B.Initializer($"gn{_constants++}.zeros", new float[groups], groups);
            var normalised = B.Node("InstanceNormalization", [grouped, ones, zeros], OnnxAttribute.Float("epsilon", 1e-5f));
            var shaped = B.Reshape(normalised, B.Shape(x));
            var gamma = B.Initializer($"gn{_constants}.gamma", Values(norm.weight), channels, 1, 1);
            var beta = B.Initializer($"gn{_constants++}.beta", Values(norm.bias!), channels, 1, 1);
            return B.Add(B.Mul(shaped, gamma), beta);
        }

        private static float[] Values(Tensor t) => t.detach().cpu().contiguous().to_type(ScalarType.Float32).data<float>().ToArray();
    }
}
