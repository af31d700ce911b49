using Labeling.Trainer.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Labeling.Trainer.Model;

/// <summary>
/// The two-stage open-vocabulary detector: a GroupNorm conv backbone (four stride-2 stages), a
/// two-level feature pyramid merged at stride 8, class-agnostic CenterNet proposals (a heatmap of
/// object centres and the distances from a centre to the box's sides, top-K peaks), RoIAlign, and a
/// box head that refines each box and gives an L2-normalised region embedding. Class scores are
/// cos(embedding, text embedding)·scale + bias, so the vocabulary stays data.
/// Every computation here has an ONNX twin in <see cref="DetectorOnnxExport"/>; change both.
/// </summary>
public sealed class OpenVocabularyDetector : nn.Module<Tensor, (Tensor Boxes, Tensor Objectness, Tensor Embeddings)>
{
    private readonly ModuleList<Conv2d> stemConvs = new();
    private readonly ModuleList<GroupNorm> stemNorms = new();
    private readonly Conv2d lateral3;
    private readonly Conv2d lateral4;
    private readonly Conv2d smooth;
    private readonly GroupNorm smoothNorm;
    private readonly Conv2d proposalConv;
    private readonly Conv2d heatmap;
    private readonly Conv2d distances;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Linear deltas;
    private readonly Linear embedding;
    private readonly Parameter logit_bias;

    public OpenVocabularyDetector(DetectorConfig config) : base(nameof(OpenVocabularyDetector))
    {
        config.Validate();
        Config = config;
        var inChannels = 3L;
        foreach (var channels in config.StageChannels)
        {
            // Each stage: a stride-2 conv then a stride-1 conv, both GroupNorm + ReLU.
            stemConvs.Add(nn.Conv2d(inChannels, channels, 3, stride: 2, padding: 1, bias: false));
            stemNorms.Add(nn.GroupNorm(config.NormGroups, channels));
            stemConvs.Add(nn.Conv2d(channels, channels, 3, stride: 1, padding: 1, bias: false));
            stemNorms.Add(nn.GroupNorm(config.NormGroups, channels));
            inChannels = channels;
        }

        var p = config.PyramidChannels;
        lateral3 = nn.Conv2d(config.StageChannels[2], p, 1);
        lateral4 = nn.Conv2d(config.StageChannels[3], p, 1);
        smooth = nn.Conv2d(p, p, 3, padding: 1, bias: false);
        smoothNorm = nn.GroupNorm(config.NormGroups, p);
        proposalConv = nn.Conv2d(p, p, 3, padding: 1);
        heatmap = nn.Conv2d(p, 1, 1);
        distances = nn.Conv2d(p, 4, 1);
        var roiFeatures = p * config.RoiSize * config.RoiSize;
        fc1 = nn.Linear(roiFeatures, config.HeadHidden);
        fc2 = nn.Linear(config.HeadHidden, config.HeadHidden);
        deltas = nn.Linear(config.HeadHidden, 4);
        embedding = nn.Linear(config.HeadHidden, config.EmbeddingDim);
        logit_bias = new Parameter(torch.tensor(config.InitialLogitBias));
        RegisterComponents();
        InitialiseWeights();
    }

    public DetectorConfig Config { get; }

    /// <summary>The learned bias of the class logits.</summary>
    public Parameter LogitBias => logit_bias;

    internal ModuleList<Conv2d> StemConvs => stemConvs;

    internal ModuleList<GroupNorm> StemNorms => stemNorms;

    internal (Conv2d Lateral3, Conv2d Lateral4, Conv2d Smooth, GroupNorm SmoothNorm) Pyramid => (lateral3, lateral4, smooth, smoothNorm);

    internal (Conv2d Conv, Conv2d Heatmap, Conv2d Distances) ProposalHead => (proposalConv, heatmap, distances);

    internal (Linear Fc1, Linear Fc2, Linear Deltas, Linear Embedding) BoxHead => (fc1, fc2, deltas, embedding);

    private void InitialiseWeights()
    {
        using var _ = torch.no_grad();
        foreach (var conv in stemConvs)
        {
            nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        }

        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised (values up to 1e27 or NaN).
        foreach (var norm in stemNorms.Append(smoothNorm))
        {
            norm.weight!.fill_(1f);
            norm.bias!.fill_(0f);
        }

        nn.init.normal_(heatmap.weight, std: 0.01);
        // Focal-loss prior: every cell starts as background with probability 0.99.
        heatmap.bias!.fill_(-MathF.Log((1 - 0.01f) / 0.01f));
        nn.init.normal_(distances.weight, std: 0.01);
        distances.bias!.fill_(1f);
        nn.init.normal_(deltas.weight, std: 0.001);
        deltas.bias!.zero_();
    }

    /// <summary>Backbone and pyramid: the stride-8 feature map [B,P,S/8,S/8].</summary>
    public Tensor Features(Tensor images)
    {
        var x = images;
        Tensor? c3 = null;
        for (var i = 0; i < stemConvs.Count; i++)
        {
            x = F.relu(stemNorms[i].call(stemConvs[i].call(x)));
            if (i == 5)
            {
                c3 = x; // end of stage 3: stride 8
            }
        }

        var p4 = lateral4.call(x);
        var p3 = lateral3.call(c3!) + F.interpolate(p4, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return F.relu(smoothNorm.call(smooth.call(p3)));
    }

    /// <summary>Proposal head: centre heatmap logits [B,1,h,w] and side distances in input pixels [B,4,h,w] (left, top, right, bottom).</summary>
    public (Tensor HeatmapLogits, Tensor Distances) ProposalMaps(Tensor features)
    {
        var h = F.relu(proposalConv.call(features));
        return (heatmap.call(h), F.softplus(distances.call(h)) * Config.FeatureStride);
    }

    /// <summary>
    /// The top-K heatmap peaks (a 3×3 max-pool keeps local maxima, as CenterNet does) as boxes in
    /// input pixels [B,K,4], clipped to the input, with their scores [B,K].
    /// </summary>
    public (Tensor Boxes, Tensor Scores) Proposals(Tensor heatmapLogits, Tensor distanceMaps)
    {
        using var scope = torch.NewDisposeScope();
        var (b, h, w) = (heatmapLogits.shape[0], heatmapLogits.shape[2], heatmapLogits.shape[3]);
        var heat = heatmapLogits.sigmoid();
        var isPeak = heat.eq(F.max_pool2d(heat, 3, stride: 1, padding: 1)).to_type(ScalarType.Float32);
        // Local maxima rank first; when there are fewer than K, the next cells rank by their heat
        // (not as tied zeros, whose order TorchSharp and ONNX Runtime break differently) and score 0.
        var ranked = heat - (1f - isPeak) * 2f;
        var (values, index) = ranked.reshape(b, h * w).topk(Config.Proposals, dim: 1);
        var scores = values.clamp_min(0f);
        var stride = (float)Config.FeatureStride;
        var cx = (index.remainder(w).to_type(ScalarType.Float32) + 0.5f) * stride;
        var cy = (index.floor_divide(w).to_type(ScalarType.Float32) + 0.5f) * stride;
        var d = distanceMaps.reshape(b, 4, h * w).gather(2, index.unsqueeze(1).expand(b, 4, Config.Proposals)); // [B,4,K]
        var boxes = torch.stack([cx - d.select(1, 0), cy - d.select(1, 1), cx + d.select(1, 2), cy + d.select(1, 3)], dim: 2)
            .clamp(0f, (float)Config.InputSize);
        return (boxes.MoveToOuterDisposeScope(), scores.MoveToOuterDisposeScope());
    }

    /// <summary>Box head over <paramref name="rois"/> [N,4] of the images <paramref name="batchIndices"/> [N]: deltas [N,4] and L2-normalised embeddings [N,D].</summary>
    public (Tensor Deltas, Tensor Embeddings) RoiHead(Tensor features, Tensor rois, Tensor batchIndices)
    {
        var pooled = RoiAlign.Forward(features, rois, batchIndices, Config.RoiSize, Config.RoiSize, 1f / Config.FeatureStride, Config.RoiSamplingRatio);
        var x = F.relu(fc1.call(pooled.flatten(1)));
        x = F.relu(fc2.call(x));
        return (deltas.call(x), F.normalize(embedding.call(x), p: 2, dim: -1));
    }

    /// <summary>Boxes moved by Faster R-CNN deltas (<see cref="Boxes.DecodeDeltas"/>), clipped to the input.</summary>
    public Tensor Decode(Tensor boxes, Tensor deltaValues) =>
        Boxes.DecodeDeltas(boxes, deltaValues).clamp(0f, (float)Config.InputSize);

    /// <summary>Inference, as the exported graph computes it: refined boxes [B,K,4], objectness [B,K], embeddings [B,K,D].</summary>
    public override (Tensor Boxes, Tensor Objectness, Tensor Embeddings) forward(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        var features = Features(images);
        var (heat, dist) = ProposalMaps(features);
        var (proposals, scores) = Proposals(heat, dist);
        var (b, k) = (proposals.shape[0], proposals.shape[1]);
        var rois = proposals.reshape(-1, 4);
        var batchIndices = torch.arange(b, dtype: ScalarType.Int64, device: images.device).unsqueeze(1).expand(b, k).reshape(-1);
        var (d, e) = RoiHead(features, rois, batchIndices);
        var boxes = Decode(rois, d).reshape(b, k, 4);
        return (boxes.MoveToOuterDisposeScope(), scores.MoveToOuterDisposeScope(), e.reshape(b, k, -1).MoveToOuterDisposeScope());
    }
}
