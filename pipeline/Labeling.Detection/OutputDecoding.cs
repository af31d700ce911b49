using Labeling.Imaging;
using Microsoft.ML.OnnxRuntime;

namespace Labeling.Detection;

/// <summary>Turns one image's slice of the model outputs into detections, per contract.</summary>
internal static class OutputDecoding
{
    // Fixed-vocabulary heads emit thousands of candidates; NMS only needs the best of them.
    private const int MaxCandidatesBeforeNms = 4000;

    /// <summary>
    /// region-embedding/1: class probability = sigmoid(cos(embedding, text) · logit_scale + logit_bias),
    /// combined with objectness by the score rule; only the requested classes are scored.
    /// </summary>
    public static DetectionResult RegionEmbedding(
        IReadOnlyDictionary<string, OrtValue> outputs, int image, DetectorInfo info, Labeling.Vocabulary.Vocabulary vocabulary,
        IReadOnlyList<int>? classes, DetectionRequest request, LetterboxTransform transform)
    {
        var boxesValue = outputs["boxes"];
        var shape = boxesValue.GetTensorTypeAndShape().Shape; // [B,K,4]
        var k = (int)shape[1];
        var embeddingShape = outputs["embeddings"].GetTensorTypeAndShape().Shape; // [B,K,D]
        var d = (int)embeddingShape[2];
        if (d != vocabulary.Dimension)
        {
            throw new DetectorContractException($"The model's region embeddings have {d} dimensions, the vocabulary's {vocabulary.Dimension}.");
        }

        var boxes = boxesValue.GetTensorDataAsSpan<float>().Slice(image * k * 4, k * 4);
        var objectness = outputs["objectness"].GetTensorDataAsSpan<float>().Slice(image * k, k);
        var embeddings = outputs["embeddings"].GetTensorDataAsSpan<float>().Slice(image * k * d, k * d);
        var text = vocabulary.Embeddings.Span;
        var classList = classes ?? Enumerable.Range(0, vocabulary.Names.Count).ToArray();
        foreach (var c in classList)
        {
            if ((uint)c >= (uint)vocabulary.Names.Count)
            {
                throw new ArgumentException($"Class index {c} is outside the vocabulary of {vocabulary.Names.Count} classes.");
            }
        }

        var proposals = new List<Proposal>(k);
        var candidates = new List<Detection>();
        for (var p = 0; p < k; p++)
        {
            var (x1, y1) = transform.ToOriginal(boxes[p * 4], boxes[p * 4 + 1]);
            var (x2, y2) = transform.ToOriginal(boxes[p * 4 + 2], boxes[p * 4 + 3]);
            if (!(x2 > x1 && y2 > y1) || !float.IsFinite(objectness[p]))
            {
                continue; // empty after clipping to the image, or garbage
            }

            var obj = objectness[p];
            proposals.Add(new Proposal(x1, y1, x2, y2, obj));
            var region = embeddings.Slice(p * d, d);
            foreach (var c in classList)
            {
                var cos = Scores.Dot(region, text.Slice(c * d, d));
                var probability = Scores.Sigmoid(cos * info.LogitScale + info.LogitBias);
                var score = Scores.Combine(info.ScoreRule, obj, probability);
                if (score >= request.ThresholdFor(c))
                {
                    candidates.Add(new Detection(c, x1, y1, x2, y2, score, obj, probability));
                }
            }
        }

        return new DetectionResult(
            Nms.PerClass(candidates, request.NmsIouThreshold, request.MaxDetectionsPerImage),
            proposals.OrderByDescending(p => p.Objectness).Take(request.MaxProposalsPerImage).ToList());
    }

    /// <summary>fixed-vocabulary/1 (Ultralytics): output [B,4+C,N] (or [B,N,4+C]) of centre x, centre y, width, height in input pixels and C class scores.</summary>
    public static DetectionResult FixedVocabulary(
        OrtValue output, int image, DetectorInfo info, IReadOnlyList<int>? classes, DetectionRequest request, LetterboxTransform transform)
    {
        var shape = output.GetTensorTypeAndShape().Shape;
        var c = info.ClassNames.Count;
        bool channelsFirst;
        int n;
        if (shape[1] == 4 + c)
        {
            channelsFirst = true;
            n = (int)shape[2];
        }
        else if (shape[2] == 4 + c)
        {
            channelsFirst = false;
            n = (int)shape[1];
        }
        else
        {
            throw new DetectorContractException($"A fixed-vocabulary output is [B,4+C,N] with C = {c} names; this model's is [{string.Join(",", shape)}].");
        }

        var stride = (4 + c) * n;
        var data = output.GetTensorDataAsSpan<float>().Slice(image * stride, stride);
        int Index(int channel, int index) => channelsFirst ? channel * n + index : index * (4 + c) + channel;

        var classList = classes ?? Enumerable.Range(0, c).ToArray();
        foreach (var cls in classList)
        {
            if ((uint)cls >= (uint)c)
            {
                throw new ArgumentException($"Class index {cls} is outside the model's {c} classes.");
            }
        }

        var candidates = new List<Detection>();
        var proposals = new List<Proposal>();
        for (var i = 0; i < n; i++)
        {
            var cx = data[Index(0, i)];
            var cy = data[Index(1, i)];
            var w = data[Index(2, i)];
            var h = data[Index(3, i)];
            var (x1, y1) = transform.ToOriginal(cx - w / 2, cy - h / 2);
            var (x2, y2) = transform.ToOriginal(cx + w / 2, cy + h / 2);
            if (!(x2 > x1 && y2 > y1))
            {
                continue;
            }

            var best = 0f;
            for (var cls = 0; cls < c; cls++)
            {
                best = Math.Max(best, data[Index(4 + cls, i)]);
            }

            proposals.Add(new Proposal(x1, y1, x2, y2, best));
            foreach (var cls in classList)
            {
                var score = data[Index(4 + cls, i)];
                if (score >= request.ThresholdFor(cls))
                {
                    candidates.Add(new Detection(cls, x1, y1, x2, y2, score, 1, score));
                }
            }
        }

        if (candidates.Count > MaxCandidatesBeforeNms)
        {
            candidates = candidates.OrderByDescending(d => d.Score).Take(MaxCandidatesBeforeNms).ToList();
        }

        return new DetectionResult(
            Nms.PerClass(candidates, request.NmsIouThreshold, request.MaxDetectionsPerImage),
            proposals.OrderByDescending(p => p.Objectness).Take(request.MaxProposalsPerImage).ToList());
    }
}
