using Labeling.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Training;

/// <summary>The trainer's AdamW against TorchSharp's: the same update, step after step.</summary>
public sealed class AdamWTests
{
    private static (TorchSharp.Modules.Parameter Ours, TorchSharp.Modules.Parameter Theirs) Twins(long seed)
    {
        torch.manual_seed(seed);
        var start = torch.randn(4, 3);
        return (new TorchSharp.Modules.Parameter(start.clone()), new TorchSharp.Modules.Parameter(start.clone()));
    }

    private static void Loss(Tensor p, Tensor target) => (p - target).square().sum().backward();

    [Fact]
    public void Steps_MatchTorchSharpsAdamW_WithWeightDecay_AndAChangingLearningRate()
    {
        using var scope = NewDisposeScope();
        var (ours, theirs) = Twins(3);
        var target = torch.randn(4, 3);
        using var mine = new AdamW([ours], learningRate: 0.05, weightDecay: 0.01);
        using var reference = torch.optim.AdamW([theirs], lr: 0.05, weight_decay: 0.01);

        for (var step = 0; step < 25; step++)
        {
            var lr = 0.05 * (1 - (step / 50.0));
            mine.LearningRate = lr;
            foreach (var group in reference.ParamGroups)
            {
                group.LearningRate = lr;
            }

            mine.ZeroGrad();
            reference.zero_grad();
            Loss(ours, target);
            Loss(theirs, target);
            mine.Step();
            reference.step();
        }

        Assert.Equal(25, mine.Steps);
        Assert.True(ours.allclose(theirs, rtol: 1e-5, atol: 1e-6), $"max difference {(ours - theirs).abs().max().item<float>()}");
        Assert.False(ours.allclose(Twins(3).Ours), "the parameters moved");
    }

    [Fact]
    public void SaveAndLoad_ContinueExactlyWhereTheStateWas()
    {
        using var scope = NewDisposeScope();
        var folder = Path.Combine(Path.GetTempPath(), "adamw-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var (a, b) = Twins(5);
            var target = torch.randn(4, 3);
            using var first = new AdamW([a], 0.1, 0.001);
            for (var i = 0; i < 3; i++)
            {
                first.ZeroGrad();
                Loss(a, target);
                first.Step();
            }

            first.Save(Path.Combine(folder, "state"));
            using (torch.no_grad())
            {
                b.copy_(a);
            }

            using var second = new AdamW([b], 0.1, 0.001);
            second.Load(Path.Combine(folder, "state"));
            Assert.Equal(3, second.Steps);
            foreach (var (optimizer, p) in new[] { (first, a), (second, b) })
            {
                optimizer.ZeroGrad();
                Loss(p, target);
                optimizer.Step();
            }

            Assert.True(a.equal(b).all().item<bool>());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void SaveAndLoad_AParameterWithoutAGradientInTheNextStep_IsUpdatedAsInAnUnbrokenRun()
    {
        // A parameter that took part before (its zeroed gradient stays) still decays in a step it takes no part in. A
        // fresh process has no gradient tensor for it: the saved state must say it has started.
        using var scope = NewDisposeScope();
        var path = Path.GetTempFileName();
        try
        {
            var (a1, b1) = Twins(7);
            var (a2, b2) = Twins(8);
            var target = torch.randn(4, 3);
            using var first = new AdamW([a1, a2], 0.1, 0.1);
            first.ZeroGrad();
            Loss(a1 + a2, target); // both take part
            first.Step();
            first.Save(path);
            using (torch.no_grad())
            {
                b1.copy_(a1);
                b2.copy_(a2);
            }

            using var second = new AdamW([b1, b2], 0.1, 0.1);
            second.Load(path);
            foreach (var (optimizer, p1) in new[] { (first, a1), (second, b1) })
            {
                optimizer.ZeroGrad();
                Loss(p1, target); // only the first takes part
                optimizer.Step();
            }

            Assert.Null(b2.grad);
            Assert.True(a1.equal(b1).all().item<bool>());
            Assert.True(a2.equal(b2).all().item<bool>(), "the idle parameter was not updated as in the unbroken run");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_StateOfAnotherModel_IsRefused()
    {
        using var scope = NewDisposeScope();
        var path = Path.GetTempFileName();
        try
        {
            using (var two = new AdamW([new TorchSharp.Modules.Parameter(torch.zeros(2)), new TorchSharp.Modules.Parameter(torch.zeros(2))], 0.1, 0))
            {
                two.Save(path);
            }

            using var one = new AdamW([new TorchSharp.Modules.Parameter(torch.zeros(2))], 0.1, 0);
            Assert.Throws<InvalidDataException>(() => one.Load(path));
            File.WriteAllBytes(path, [9, 9, 9, 9]);
            Assert.Throws<InvalidDataException>(() => one.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
