using System.Diagnostics;
using Labeling.Labels;

namespace Labeling.Bootstrap.Tests;

/// <summary>Which training runs are taken for dead: by their process on this machine, or by a stale heartbeat.</summary>
public sealed class TrainingRecoveryTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The owner text of a process of this machine that has exited.</summary>
    internal static async Task<string> DeadOwnerAsync()
    {
        // It lives until killed, so that its start time can be read before it is gone.
        using var process = Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        var pid = process.Id;
        var start = long.Parse(File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].Trim().Split(' ')[19], System.Globalization.CultureInfo.InvariantCulture);
        process.Kill();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return RunOwner.Of(Environment.MachineName, pid, start);
    }

    private static TrainingRunRecord Run(string? owner, DateTimeOffset? heartbeat, DateTimeOffset? started = null) =>
        new(1, null, null, TrainingRunStatus.Running, "{}", null, null, "auto-1", owner, heartbeat, null, started ?? heartbeat);

    [Fact]
    public async Task Owner_OfThisProcess_IsAlive_AndOfAnExitedOne_IsDead()
    {
        Assert.False(RunOwner.IsDeadHere(RunOwner.Current));
        Assert.StartsWith($"{Environment.MachineName}/{Environment.ProcessId}/", RunOwner.Current, StringComparison.Ordinal);

        var dead = await DeadOwnerAsync();

        Assert.True(RunOwner.IsDeadHere(dead));
    }

    [Fact]
    public void Owner_WithThisPidButAnotherStart_IsDead_AndOthersCannotBeJudgedHere()
    {
        var parts = RunOwner.Current.Split('/');
        // The pid lives on, but it is another process than the one that started the run (pid reuse).
        Assert.True(RunOwner.IsDeadHere(RunOwner.Of(parts[0], Environment.ProcessId, long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) + 1)));
        Assert.False(RunOwner.IsDeadHere(RunOwner.Of("another-machine", 1, 1)));
        foreach (var text in new[] { null, "", "garbage", "a/b/c", $"{Environment.MachineName}/-1/5", $"{Environment.MachineName}/1" })
        {
            Assert.False(RunOwner.IsDeadHere(text));
        }
    }

    [Fact]
    public async Task Orphaned_WhenItsProcessHereIsGone_OrItsHeartbeatIsOlderThanTheLimit()
    {
        var limit = TimeSpan.FromMinutes(10);
        var dead = await DeadOwnerAsync();

        Assert.Contains("is gone", TrainingRecovery.WhyOrphaned(Run(dead, Now), limit, Now), StringComparison.Ordinal);
        Assert.Null(TrainingRecovery.WhyOrphaned(Run(RunOwner.Current, Now.AddHours(-5)), limit, Now.AddHours(-5).AddMinutes(1)));
        Assert.Null(TrainingRecovery.WhyOrphaned(Run("another-machine/1/1", Now.AddMinutes(-9)), limit, Now));
        Assert.Contains("no heartbeat from another-machine/1/1 since 2026-11-23 11:49:00Z", TrainingRecovery.WhyOrphaned(Run("another-machine/1/1", Now.AddMinutes(-11)), limit, Now), StringComparison.Ordinal);
        // A run recorded before heartbeats existed is judged by its start.
        Assert.NotNull(TrainingRecovery.WhyOrphaned(Run(null, null, Now.AddHours(-1)), limit, Now));
        Assert.Null(TrainingRecovery.WhyOrphaned(Run(null, null, Now.AddMinutes(-1)), limit, Now));
    }

    [Fact]
    public void Options_RefuseAnOrphanLimitShorterThanTwoHeartbeats()
    {
        var error = Assert.Throws<ArgumentException>(() => new RetrainingOptions { HeartbeatEvery = TimeSpan.FromMinutes(1), OrphanAfter = TimeSpan.FromSeconds(90) }.Validate());
        Assert.Contains("OrphanAfter", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new RetrainingOptions { HeartbeatEvery = TimeSpan.Zero }.Validate());
        new RetrainingOptions().Validate();
    }
}
