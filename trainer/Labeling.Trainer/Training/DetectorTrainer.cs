using System.Diagnostics;
using Labeling.Trainer.Data;
using Labeling.Trainer.Losses;
using Labeling.Trainer.Model;
using Labeling.Trainer.Ops;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Training;

/// <summary>A prepared sample with its names resolved to label-space indices.</summary>
internal sealed record TrainingImage(float[] Pixels, IReadOnlyList<float[]> Boxes, IReadOnlyList<int> BoxClasses, IReadOnlyList<int> Tags)
{
    /// <summary>Box data trains every head; a tag-only image trains only the classification of its largest proposal.</summary>
    public bool HasBoxes => Boxes.Count > 0;

    /// <summary>Boxes and tags whose class is not in the label space are left out (the sampler already leaves them out of tensors).</summary>
    public static TrainingImage From(PreparedSample sample, IReadOnlyDictionary<string, int> classes)
    {
        var boxes = sample.Kind == SampleKind.BoxData
            ? sample.Boxes.Where(b => classes.ContainsKey(b.ClassName)).ToList()
            : [];
        return new TrainingImage(
            sample.Chw,
            boxes.Select(b => new[] { b.X1, b.Y1, b.X2, b.Y2 }).ToList(),
            boxes.Select(b => classes[b.ClassName]).ToList(),
            sample.Tags.Where(classes.ContainsKey).Select(t => classes[t]).Distinct().ToList());
    }
}

/// <summary>The outcome of a run: <paramref name="FirstLoss"/> and <paramref name="LastLoss"/> are raw single-batch values; <paramref name="Loss"/> is what to show people.</summary>
public sealed record TrainingResult(int Steps, int SkippedSteps, float FirstLoss, float LastLoss, double SecondsPerStep, LossSummary Loss);

/// <summary>
/// The training loop: AdamW, linear warm-up then cosine decay, gradient clipping, a dispose scope
/// per step, non-finite steps skipped and counted (never applied), seeded, checkpoint and resume.
/// Losses: CenterNet focal heatmap + GIoU for proposals; box refinement; ScaleDet hard + soft label
/// assignment on region embeddings; Detic's image-label loss on tag-only images.
/// </summary>
public sealed partial class DetectorTrainer
{
    private readonly OpenVocabularyDetector _model;
    private readonly TrainingOptions _options;
    private readonly ILogger _logger;
    private readonly Device _device;

    public DetectorTrainer(OpenVocabularyDetector model, TrainingOptions options, ILogger logger)
    {
        options.Validate();
        _model = model;
        _options = options;
        _logger = logger;
        _device = TorchRuntime.Initialise(options.Threads, options.Device);
        _model.to(_device);
    }

    /// <summary>
    /// Trains on <paramref name="batches"/> (a long enough stream, e.g. <see cref="BatchSampler.BatchesAsync"/>)
    /// over the label space <paramref name="classNames"/> whose text embeddings are
    /// <paramref name="textEmbeddings"/> [C,D] (L2-normalised, same order), until
    /// <see cref="TrainingOptions.Steps"/>; resumes from the checkpoint folder when it holds one.
    /// </summary>
    public TrainingResult Train(
        IEnumerable<IReadOnlyList<PreparedSample>> batches, IReadOnlyList<string> classNames, float[,] textEmbeddings,
        Action<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        if (classNames.Count != textEmbeddings.GetLength(0) || textEmbeddings.GetLength(1) != _model.Config.EmbeddingDim)
        {
            throw new ArgumentException($"{classNames.Count} class names need {classNames.Count}×{_model.Config.EmbeddingDim} text embeddings, not {textEmbeddings.GetLength(0)}×{textEmbeddings.GetLength(1)}.");
        }

        var classIndex = classNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        torch.manual_seed(_options.Seed);
        using var text = torch.tensor(Flatten(textEmbeddings), [textEmbeddings.GetLength(0), textEmbeddings.GetLength(1)]).to(_device);
        using var similarity = ScaleDetLosses.SimilarityMatrix(text);
        using var optimizer = new AdamW(_model.parameters(), _options.LearningRate, _options.WeightDecay);
        var start = Checkpoints.TryResume(_options.CheckpointFolder, _model, optimizer);
        if (start > 0)
        {
            LogResumed(_logger, start, _options.CheckpointFolder!);
        }

        _model.train();
        var step = start;
        var skipped = 0;
        float? first = null;
        var last = float.NaN;
        var smoother = new LossSmoother();
        var clock = Stopwatch.StartNew();
        var windowStart = clock.Elapsed;
        var windowSteps = 0;
        using var batchStream = batches.GetEnumerator();
        // A resumed run passes over the batches the earlier steps used, so that with the same seed
        // it sees the same data as a run that never stopped.
        for (var i = 0; i < start && batchStream.MoveNext(); i++)
        {
        }

        while (step < _options.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!batchStream.MoveNext())
            {
                throw new InvalidOperationException($"The training data ran out after {step} steps.");
            }

            var learningRate = LearningRateAt(step);
            optimizer.LearningRate = learningRate;

            using (var scope = torch.NewDisposeScope())
            {
                var batch = batchStream.Current.Select(sample => TrainingImage.From(sample, classIndex)).ToList();
                var parts = Losses(batch, text, similarity);
                var total = parts.Values.Aggregate((a, b) => a + b);
                var loss = total.item<float>();
                optimizer.ZeroGrad();
                if (!float.IsFinite(loss))
                {
                    skipped++;
                    LogSkipped(_logger, step, "loss");
                }
                else
                {
                    total.backward();
                    var norm = nn.utils.clip_grad_norm_(_model.parameters(), _options.GradientClipNorm);
                    if (!double.IsFinite(norm))
                    {
                        // A NaN/inf gradient is never applied: the weights stay as they were.
                        optimizer.ZeroGrad();
                        skipped++;
                        LogSkipped(_logger, step, "gradient");
                    }
                    else
                    {
                        optimizer.Step();
                        first ??= loss;
                        last = loss;
                        var boxImages = batch.Count(b => b.HasBoxes);
                        smoother.Add(step + 1, loss, boxImages, batch.Count - boxImages);
                    }
                }

                step++;
                windowSteps++;
                if (step % _options.ReportEvery == 0 || step == _options.Steps)
                {
                    var seconds = (clock.Elapsed - windowStart).TotalSeconds;
                    var report = new TrainingProgress(step, _options.Steps, seconds > 0 ? windowSteps / seconds : 0, loss,
                        parts.ToDictionary(p => p.Key, p => p.Value.item<float>()), skipped, learningRate);
                    LogProgress(_logger, step, _options.Steps, report.StepsPerSecond, loss, skipped);
                    progress?.Invoke(report);
                    windowStart = clock.Elapsed;
                    windowSteps = 0;
                }
            }

            if (_options.CheckpointFolder is { } folder && (step % _options.CheckpointEvery == 0 || step == _options.Steps))
            {
                Checkpoints.Save(folder, _model, optimizer, step);
            }
        }

        _model.eval();
        var trained = step - start;
        return new TrainingResult(step, skipped, first ?? float.NaN, last, trained > 0 ? clock.Elapsed.TotalSeconds / trained : 0, smoother.Summary());
    }

    /// <summary>Linear warm-up to the peak, then cosine decay to zero at the last step.</summary>
    public float LearningRateAt(int step)
    {
        if (step < _options.WarmupSteps)
        {
            return _options.LearningRate * (step + 1) / _options.WarmupSteps;
        }

        var span = Math.Max(1, _options.Steps - _options.WarmupSteps);
        var progress = Math.Min(1.0, (double)(step - _options.WarmupSteps) / span);
        return (float)(_options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>Every loss part of one batch (scalar tensors in the caller's dispose scope).</summary>
    internal Dictionary<string, Tensor> Losses(IReadOnlyList<TrainingImage> batch, Tensor text, Tensor similarity)
    {
        var c = _model.Config;
        var size = c.InputSize;
        var images = torch.stack(batch.Select(i => torch.tensor(i.Pixels, [3, size, size])).ToArray()).to(_device);
        var features = _model.Features(images);
        var (heat, distances) = _model.ProposalMaps(features);
        var (mapH, mapW) = ((int)heat.shape[2], (int)heat.shape[3]);
        Tensor proposals, objectness;
        using (torch.no_grad())
        {
            (proposals, objectness) = _model.Proposals(heat.detach(), distances.detach());
        }

        var zero = torch.zeros(1, device: _device).sum();
        var parts = new Dictionary<string, Tensor>
        {
            ["heatmap"] = zero, ["giou"] = zero, ["refine"] = zero, ["hard"] = zero, ["soft"] = zero, ["detic"] = zero,
        };

        var boxImages = Enumerable.Range(0, batch.Count).Where(i => batch[i].HasBoxes).ToList();
        var tagImages = Enumerable.Range(0, batch.Count).Where(i => !batch[i].HasBoxes && batch[i].Tags.Count > 0).ToList();

        if (boxImages.Count > 0)
        {
            // Proposals: CenterNet heatmap focal loss and GIoU of the box predicted at each object's centre cell.
            var targets = boxImages.Select(i => CenterNetTargets.Build(batch[i].Boxes.ToArray(), mapH, mapW, c.FeatureStride)).ToList();
            var heatTarget = torch.stack(targets.Select(t => torch.tensor(t.Heatmap, [1, mapH, mapW])).ToArray()).to(_device);
            var boxIndex = torch.tensor(boxImages.Select(i => (long)i).ToArray(), device: _device);
            parts["heatmap"] = _options.HeatmapWeight * ProposalLosses.FocalHeatmap(heat.index_select(0, boxIndex), heatTarget);

            var predicted = new List<Tensor>();
            var truth = new List<Tensor>();
            for (var n = 0; n < boxImages.Count; n++)
            {
                var image = boxImages[n];
                var t = targets[n];
                for (var o = 0; o < t.CentreCells.Length; o++)
                {
                    var cell = t.CentreCells[o];
                    var (cy, cx) = (cell / mapW, cell % mapW);
                    var d = distances[image, .., cy, cx];
                    var (px, py) = ((cx + 0.5f) * c.FeatureStride, (cy + 0.5f) * c.FeatureStride);
                    predicted.Add(torch.stack([px - d[0], py - d[1], px + d[2], py + d[3]]));
                    truth.Add(torch.tensor(batch[image].Boxes[t.BoxIndices[o]]));
                }
            }

            if (predicted.Count > 0)
            {
                parts["giou"] = _options.GiouWeight * ProposalLosses.GIoU(torch.stack(predicted), torch.stack(truth).to(_device));
            }

            // Second stage: proposals plus the ground-truth boxes, labelled by IoU.
            var rois = new List<Tensor>();
            var roiImage = new List<long>();
            var labels = new List<long>();
            var matched = new List<Tensor>();
            var positive = new List<bool>();
            foreach (var image in boxImages)
            {
                var gt = torch.tensor(batch[image].Boxes.SelectMany(b => b).ToArray(), [batch[image].Boxes.Count, 4]).to(_device);
                var candidates = torch.cat([proposals[image], gt]);
                var iou = Boxes.Iou(candidates, gt);
                var (best, which) = iou.max(1);
                var bestValues = best.cpu().data<float>().ToArray();
                var whichValues = which.cpu().data<long>().ToArray();
                for (var r = 0; r < bestValues.Length; r++)
                {
                    if (bestValues[r] >= _options.PositiveIou)
                    {
                        labels.Add(batch[image].BoxClasses[(int)whichValues[r]]);
                        positive.Add(true);
                    }
                    else if (bestValues[r] < _options.NegativeIou)
                    {
                        labels.Add(-1);
                        positive.Add(false);
                    }
                    else
                    {
                        continue;
                    }

                    rois.Add(candidates[r]);
                    matched.Add(gt[whichValues[r]]);
                    roiImage.Add(image);
                }
            }

            if (rois.Count > 0)
            {
                var roiTensor = torch.stack(rois).detach();
                var (deltas, embeddings) = _model.RoiHead(features, roiTensor, torch.tensor(roiImage.ToArray(), device: _device));
                var labelTensor = torch.tensor(labels.ToArray(), device: _device);
                var positives = torch.tensor(positive.ToArray(), device: _device);
                if (positive.Any(p => p))
                {
                    var targetDeltas = Boxes.EncodeDeltas(roiTensor[positives], torch.stack(matched)[positives]);
                    parts["refine"] = _options.RefinementWeight * ProposalLosses.BoxRefinement(deltas[positives], targetDeltas);
                }

                parts["hard"] = _options.ClassificationWeight * ScaleDetLosses.Hard(embeddings, text, labelTensor, 1f / c.LogitScale, _model.LogitBias);
                if (positive.Any(p => p))
                {
                    parts["soft"] = _options.ClassificationWeight * _options.SoftWeight
                        * ScaleDetLosses.Soft(embeddings[positives], text, labelTensor[positives], similarity);
                }
            }
        }

        if (tagImages.Count > 0)
        {
            // Detic: the largest of each tag-only image's proposals learns the image's tags.
            var chosen = tagImages.Select(i => proposals[i][_options.DeticProposal == DeticProposal.Largest
                ? DeticLoss.MaxSizeProposal(proposals[i])
                : (int)objectness[i].argmax().item<long>()]).ToArray();
            var (_, embeddings) = _model.RoiHead(features, torch.stack(chosen).detach(), torch.tensor(tagImages.Select(i => (long)i).ToArray(), device: _device));
            var multiHot = torch.zeros(tagImages.Count, text.shape[0], device: _device);
            for (var n = 0; n < tagImages.Count; n++)
            {
                foreach (var tag in batch[tagImages[n]].Tags)
                {
                    multiHot[n, tag] = 1f;
                }
            }

            parts["detic"] = DeticLoss.ImageLabel(embeddings, text, multiHot, _model.Config.LogitScale, _model.LogitBias, _options.DeticWeight);
        }

        return parts;
    }

    private static float[] Flatten(float[,] values)
    {
        var result = new float[values.Length];
        Buffer.BlockCopy(values, 0, result, 0, values.Length * sizeof(float));
        return result;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Training resumed at step {Step} from {Folder}.")]
    private static partial void LogResumed(ILogger logger, int step, string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Step {Step} skipped: its {What} is not finite.")]
    private static partial void LogSkipped(ILogger logger, int step, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Step {Step}/{Steps}: {StepsPerSecond:F2} steps/s, loss {Loss:F4}, {Skipped} skipped.")]
    private static partial void LogProgress(ILogger logger, int step, int steps, double stepsPerSecond, float loss, int skipped);
}
