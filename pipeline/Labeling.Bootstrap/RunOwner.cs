using System.Diagnostics;
using System.Globalization;

namespace Labeling.Bootstrap;

/// <summary>
/// Who runs a training run: <c>machine/pid/start</c>. The start tells a dead process from a new one that got the same
/// pid (on Linux the kernel's start time in clock ticks since boot, read from <c>/proc/PID/stat</c>: exact, where
/// <see cref="Process.StartTime"/> is derived from a boot time that can differ between readers). Only processes of this
/// machine can be checked; others are judged by their heartbeat.
/// </summary>
public static class RunOwner
{
    /// <summary>This process.</summary>
    public static string Current { get; } = Of(Environment.MachineName, Environment.ProcessId, ProcessStart(Environment.ProcessId) ?? 0);

    public static string Of(string machine, int pid, long startTicks) =>
        string.Create(CultureInfo.InvariantCulture, $"{machine}/{pid}/{startTicks}");

    /// <summary>
    /// True only when <paramref name="owner"/> names a process of this machine that is gone (no such pid, or that pid
    /// started at another time); false for a live process, another machine's, or text that is not an owner.
    /// </summary>
    public static bool IsDeadHere(string? owner)
    {
        var parts = owner?.Split('/');
        if (parts is not { Length: 3 } || parts[0] != Environment.MachineName
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var startTicks))
        {
            return false;
        }

        return ProcessStart(pid) is not { } start || start != startTicks;
    }

    /// <summary>When process <paramref name="pid"/> started, or null when there is no such process.</summary>
    private static long? ProcessStart(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            }
            catch (IOException)
            {
                return null;
            }

            // "pid (comm) state ppid …": comm may hold spaces and parentheses; starttime is field 22, the 20th after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited ? null : process.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null; // no such process, or it exited while we looked
        }
    }
}
