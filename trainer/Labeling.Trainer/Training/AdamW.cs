using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Labeling.Trainer.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter: decoupled weight decay), the update TorchSharp's <c>torch.optim.AdamW</c> computes,
/// with every scalar operand an explicit <see cref="Scalar"/> that stays alive until the update is done.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's optimiser passes <c>double</c>s that convert implicitly to <see cref="Scalar"/>s nobody holds: the
/// garbage collector may finalise one while libtorch still reads it, and a run then dies in <c>add_</c> with
/// "Expected false to be true … toFloat" (seen once in ~3,000 steps on the open world; the same race can silently
/// read a wrong number). Holding each scalar in a <c>using</c> closes that window.
/// <para>
/// A parameter is updated from the first step it has a gradient on; after that a step in which it took no part still
/// decays it (its zeroed gradient is still there). A fresh process resuming from a checkpoint has no gradient tensors
/// yet, so which parameters have had one is part of the saved state: a resumed run then takes exactly the steps an
/// unbroken one would.
/// </para>
/// </remarks>
public sealed class AdamW : IDisposable
{
    private const int FormatVersion = 2;
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _average;
    private readonly Tensor[] _averageSquare;
    private readonly bool[] _started;

    public AdamW(IEnumerable<Parameter> parameters, double learningRate, double weightDecay, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = [.. parameters];
        _average = [.. _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope())];
        _averageSquare = [.. _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope())];
        _started = new bool[_parameters.Length];
        (LearningRate, WeightDecay, Beta1, Beta2, Epsilon) = (learningRate, weightDecay, beta1, beta2, epsilon);
    }

    public double LearningRate { get; set; }

    public double WeightDecay { get; }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    /// <summary>Updates taken so far (the bias corrections' t).</summary>
    public long Steps { get; private set; }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            p.grad?.zero_();
        }
    }

    /// <summary>One update of every parameter that has a gradient now or had one before (then counted as zero).</summary>
    public void Step()
    {
        using var noGrad = torch.no_grad();
        Steps++;
        var correction1 = 1 - Math.Pow(Beta1, Steps);
        var correction2 = 1 - Math.Pow(Beta2, Steps);
        using var decay = (1 - (LearningRate * WeightDecay)).ToScalar();
        using var beta1 = Beta1.ToScalar();
        using var oneMinusBeta1 = (1 - Beta1).ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var oneMinusBeta2 = (1 - Beta2).ToScalar();
        using var sqrtCorrection2 = Math.Sqrt(correction2).ToScalar();
        using var epsilon = Epsilon.ToScalar();
        using var stepSize = (-LearningRate / correction1).ToScalar();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            var grad = p.grad;
            if (grad is null && !_started[i])
            {
                continue;
            }

            _started[i] = true;
            p.mul_(decay);
            // A zero gradient adds nothing: leaving the adds out is the same update, bit for bit.
            _average[i].mul_(beta1);
            _averageSquare[i].mul_(beta2);
            if (grad is not null)
            {
                _average[i].add_(grad, alpha: oneMinusBeta1);
                _averageSquare[i].addcmul_(grad, grad, value: oneMinusBeta2);
            }

            using var denominator = _averageSquare[i].sqrt();
            denominator.div_(sqrtCorrection2).add_(epsilon);
            p.addcdiv_(_average[i], denominator, value: stepSize);
        }
    }

    /// <summary>Writes the state (step count, which parameters have started, both moment estimates) for a checkpoint.</summary>
    public void Save(string path)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(FormatVersion);
        writer.Write(Steps);
        writer.Write(_parameters.Length);
        foreach (var started in _started)
        {
            writer.Write(started);
        }

        foreach (var t in _average.Concat(_averageSquare))
        {
            t.Save(writer);
        }
    }

    /// <summary>Reads a state written by <see cref="Save"/> for the same parameters.</summary>
    /// <exception cref="InvalidDataException">The file is of another format or another model.</exception>
    public void Load(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var version = reader.ReadInt32();
        if (version is not (1 or FormatVersion))
        {
            throw new InvalidDataException($"{path} is not an optimiser state of this version.");
        }

        var steps = reader.ReadInt64();
        if (reader.ReadInt32() != _parameters.Length)
        {
            throw new InvalidDataException($"{path} holds the state of a model with another number of parameters.");
        }

        var started = new bool[_parameters.Length];
        for (var i = 0; version == FormatVersion && i < started.Length; i++)
        {
            started[i] = reader.ReadBoolean();
        }

        foreach (var t in _average.Concat(_averageSquare))
        {
            t.Load(reader);
        }

        for (var i = 0; i < started.Length; i++)
        {
            // Version 1 did not record it: a parameter has started when its second moment is not all zero.
            if (version == FormatVersion)
            {
                _started[i] = started[i];
            }
            else
            {
                using var nonZero = _averageSquare[i].count_nonzero();
                _started[i] = nonZero.item<long>() > 0;
            }
        }

        Steps = steps;
    }

    public void Dispose()
    {
        foreach (var t in _average.Concat(_averageSquare))
        {
            t.Dispose();
        }
    }
}
