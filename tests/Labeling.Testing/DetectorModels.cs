using System.Globalization;
using Labeling.Onnx;

namespace Labeling.Testing;

/// <summary>
/// Detector models built with the project's ONNX writer, for tests and benchmarks: constant
/// models whose outputs are known in closed form, and a reference region-embedding network
/// (a few convolutions, K proposals, D-dimensional embeddings) with seeded random weights.
/// </summary>
public static class DetectorModels
{
    /// <summary>Settings of a region-embedding model's metadata.</summary>
    public sealed record RegionSettings
    {
        public int InputSize { get; init; } = 64;
        public string Space { get; init; } = "hashbow-16";
        public float LogitScale { get; init; } = 10;
        public float LogitBias { get; init; }
        public string ScoreRule { get; init; } = "geometric-mean";
        public float[] Mean { get; init; } = [0.5f, 0.5f, 0.5f];
        public float[] Std { get; init; } = [0.25f, 0.25f, 0.25f];

        /// <summary>When set, proposal <c>index</c>'s objectness is the mean of the normalised input (checks preprocessing end to end) instead of the constant.</summary>
        public int? ObjectnessFromInputMean { get; init; }
    }

    /// <summary>
    /// A region-embedding/1 model that returns the same proposals for every image: <paramref name="boxes"/>
    /// (K×4, x1,y1,x2,y2 in input pixels), <paramref name="objectness"/> (K) and <paramref name="embeddings"/> (K×D, written as given).
    /// </summary>
    public static void ConstantRegionEmbedding(string path, float[,] boxes, float[] objectness, float[,] embeddings, RegionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(objectness);
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(settings);
        var k = boxes.GetLength(0);
        var d = embeddings.GetLength(1);
        var size = settings.InputSize;
        var g = new OnnxGraphBuilder("constant_region_embedding");
        var images = g.Input("images", TensorElementType.Float, "batch", 3, size, size);
        var mean = g.Reshape(g.ReduceMean(images, [1, 2, 3], keepDims: false), -1, 1);          // [B,1]
        var zeros = g.Mul(mean, g.Initializer("zero", [0f], 1));                                 // [B,1]
        var zeros3 = g.Reshape(zeros, -1, 1, 1);                                                 // [B,1,1]
        g.Identity(g.Add(zeros3, g.Initializer("boxes_const", Flatten(boxes), 1, k, 4)), "boxes");
        var mask = new float[k];
        var constant = (float[])objectness.Clone();
        if (settings.ObjectnessFromInputMean is { } index)
        {
            mask[index] = 1;
            constant[index] = 0;
        }

        var obj = g.Add(g.Mul(mean, g.Initializer("objectness_mask", mask, 1, k)), g.Initializer("objectness_const", constant, 1, k));
        g.Identity(obj, "objectness");
        g.Identity(g.Add(zeros3, g.Initializer("embeddings_const", Flatten(embeddings), 1, k, d)), "embeddings");
        g.Output("boxes", TensorElementType.Float, "batch", k, 4);
        g.Output("objectness", TensorElementType.Float, "batch", k);
        g.Output("embeddings", TensorElementType.Float, "batch", k, d);
        RegionMetadata(g, settings);
        OnnxModelFile.Save(g.Build(), path);
    }

    /// <summary>The text embeddings of <paramref name="names"/> as rows [names, D]: the region embeddings of a constant model that "sees" those classes.</summary>
    public static float[,] EmbeddingRows(Labeling.Vocabulary.ITextEncoder encoder, IReadOnlyList<string> names)
    {
        var rows = new float[names.Count, encoder.Dimension];
        for (var p = 0; p < names.Count; p++)
        {
            var row = encoder.Encode(names[p]);
            for (var i = 0; i < row.Length; i++)
            {
                rows[p, i] = row[i];
            }
        }

        return rows;
    }

    /// <summary>
    /// The reference region-embedding/1 network of the benchmarks: four stride-2 3×3 convolutions
    /// (16, 32, 64, 128 channels) with ReLU, global average pooling and one linear layer into K
    /// proposals of box, objectness and a D-dimensional L2-normalised embedding. Seeded weights.
    /// </summary>
    public static void ReferenceRegionEmbedding(string path, int inputSize = 512, int k = 100, int d = 256, int seed = 1, string space = "hashbow-256")
    {
        var random = new Random(seed);
        var g = new OnnxGraphBuilder("reference_region_embedding");
        var x = g.Input("images", TensorElementType.Float, "batch", 3, inputSize, inputSize);
        var channels = 3;
        var layer = 0;
        foreach (var next in new[] { 16, 32, 64, 128 })
        {
            var weight = Weights(random, next * channels * 9, channels * 9);
            x = g.Relu(g.Conv(x, weight, [next, channels, 3, 3], new float[next], strides: [2, 2], pads: [1, 1, 1, 1], prefix: $"conv{layer++}"));
            channels = next;
        }

        var features = g.Reshape(g.GlobalAveragePool(x), -1, channels);
        var width = 5 + d;
        var head = g.Gemm(features, g.Initializer("head.weight", Weights(random, channels * k * width, channels), channels, k * width),
            g.Initializer("head.bias", new float[k * width], k * width));
        var r = g.Reshape(head, -1, k, width);
        var xy = g.Mul(g.Sigmoid(g.Slice(r, [0], [2], [2])), g.Initializer("xy_scale", [inputSize * 0.75f], 1));
        var wh = g.Add(g.Mul(g.Sigmoid(g.Slice(r, [2], [4], [2])), g.Initializer("wh_scale", [inputSize * 0.25f], 1)), g.Initializer("wh_min", [8f], 1));
        g.Identity(g.Concat([xy, g.Add(xy, wh)], 2), "boxes");
        g.Identity(g.Reshape(g.Sigmoid(g.Slice(r, [4], [5], [2])), -1, k), "objectness");
        g.Identity(g.L2Normalize(g.Slice(r, [5], [width], [2]), axis: -1), "embeddings");
        g.Output("boxes", TensorElementType.Float, "batch", k, 4);
        g.Output("objectness", TensorElementType.Float, "batch", k);
        g.Output("embeddings", TensorElementType.Float, "batch", k, d);
        RegionMetadata(g, new RegionSettings { InputSize = inputSize, Space = space, Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f] });
        OnnxModelFile.Save(g.Build(), path);
    }

    /// <summary>
    /// A fixed-vocabulary/1 model laid out as an Ultralytics export: output <c>output0</c> [B,4+C,N]
    /// equal to <paramref name="rows"/> (N×(4+C): cx, cy, w, h in input pixels, then C class scores) for every image,
    /// class names in the <c>names</c> metadata as Ultralytics writes them (a Python dict literal).
    /// </summary>
    public static void ConstantFixedVocabulary(string path, float[,] rows, IReadOnlyList<string> names, int inputSize = 64, int? fixedBatch = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(names);
        var n = rows.GetLength(0);
        var channels = rows.GetLength(1);
        if (channels != 4 + names.Count)
        {
            throw new ArgumentException($"rows must have 4 + {names.Count} columns.", nameof(rows));
        }

        var transposed = new float[channels * n];
        for (var i = 0; i < n; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                transposed[c * n + i] = rows[i, c];
            }
        }

        var g = new OnnxGraphBuilder("constant_fixed_vocabulary");
        OnnxDim batch = fixedBatch is { } b ? b : "batch";
        var images = g.Input("images", TensorElementType.Float, batch, 3, inputSize, inputSize);
        var zeros = g.Reshape(g.Mul(g.ReduceMean(images, [1, 2, 3], keepDims: false), g.Initializer("zero", [0f], 1)), -1, 1, 1);
        g.Identity(g.Add(zeros, g.Initializer("rows", transposed, 1, channels, n)), "output0");
        g.Output("output0", TensorElementType.Float, batch, channels, n);
        g.Metadata("names", "{" + string.Join(", ", names.Select((name, i) => $"{i}: '{name.Replace("'", "\\'", StringComparison.Ordinal)}'")) + "}");
        g.Metadata("imgsz", $"[{inputSize}, {inputSize}]");
        g.Metadata("task", "detect");
        OnnxModelFile.Save(g.Build(), path);
    }

    private static void RegionMetadata(OnnxGraphBuilder g, RegionSettings s)
    {
        static string List(float[] v) => string.Join(",", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
        g.Metadata("labeling.contract", "region-embedding/1");
        g.Metadata("labeling.input_size", s.InputSize.ToString(CultureInfo.InvariantCulture));
        g.Metadata("labeling.mean", List(s.Mean));
        g.Metadata("labeling.std", List(s.Std));
        g.Metadata("labeling.logit_scale", s.LogitScale.ToString("R", CultureInfo.InvariantCulture));
        g.Metadata("labeling.logit_bias", s.LogitBias.ToString("R", CultureInfo.InvariantCulture));
        g.Metadata("labeling.score_rule", s.ScoreRule);
        g.Metadata("labeling.embedding_space", s.Space);
    }

    private static float[] Flatten(float[,] values)
    {
        var result = new float[values.Length];
        Buffer.BlockCopy(values, 0, result, 0, values.Length * sizeof(float));
        return result;
    }

    private static float[] Weights(Random random, int count, int fanIn)
    {
        var scale = MathF.Sqrt(2f / fanIn);
        var w = new float[count];
        for (var i = 0; i < count; i++)
        {
            w[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        }

        return w;
    }
}
