using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Labeling.Vocabulary;
using SkiaSharp;

namespace Labeling.Integration.Tests.Cli;

/// <summary>
/// The README's "Labelling a folder today" as a user runs it: every <c>bash</c> block whose first line is
/// <c># doc test: runs</c> runs in bash, in order, in one fresh folder (the CLI built beside the tests as
/// <c>./labeling</c>, generated photos in <c>~/photos</c>, a writer-built <c>detector.onnx</c>), and must exit 0.
/// </summary>
public sealed partial class ReadmeDocTests : IDisposable
{
    private const string Runs = "# doc test: runs";
    private const string Skipped = "# doc test: skipped (";

    private readonly TempFolder _folder = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The fenced bash blocks of the section, in order.</summary>
    internal static IReadOnlyList<string> SectionBlocks()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root(), "README.md"));
        var start = readme.IndexOf("\n## Labelling a folder today", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no section \"Labelling a folder today\"");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];
        return BashBlock().Matches(section).Select(m => m.Groups[1].Value).ToList();
    }

    [Fact]
    public void EveryBashBlockOfTheSection_SaysWhetherTheDocTestRunsIt()
    {
        var blocks = SectionBlocks();

        Assert.NotEmpty(blocks);
        Assert.All(blocks, block =>
        {
            var first = block.Split('\n')[0].TrimEnd();
            Assert.True(first == Runs || (first.StartsWith(Skipped, StringComparison.Ordinal) && first.EndsWith(')')),
                $"a bash block of \"Labelling a folder today\" starts with neither '{Runs}' nor '{Skipped}why)':\n{block}");
        });
        Assert.True(blocks.Count(b => b.StartsWith(Runs, StringComparison.Ordinal)) >= 3, "the doc test runs fewer than three blocks");
        Assert.Contains(blocks, b => b.StartsWith(Skipped, StringComparison.Ordinal) && b.Contains("labeling serve", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheRunnableBlocks_ExitZero_InAFreshFolder()
    {
        var home = Directory.CreateDirectory(Path.Combine(_folder.Path, "home")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(_folder.Path, "work")).FullName;
        WritePhotos(Path.Combine(home, "photos"));
        WriteDetector(Path.Combine(work, "detector.onnx"));
        var cli = Path.Combine(AppContext.BaseDirectory, "labeling.dll");
        Assert.True(File.Exists(cli), $"the CLI is not built beside the tests: {cli}");
        await File.WriteAllTextAsync(Path.Combine(work, "labeling"), $"#!/usr/bin/env bash\nexec dotnet '{cli}' \"$@\"\n", Ct);
        Assert.SkipWhen(OperatingSystem.IsWindows(), "the README's blocks are bash");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(work, "labeling"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var blocks = SectionBlocks().Where(b => b.StartsWith(Runs, StringComparison.Ordinal)).ToList();
        for (var i = 0; i < blocks.Count; i++)
        {
            var script = Path.Combine(_folder.Path, $"block-{i + 1}.sh");
            await File.WriteAllTextAsync(script, blocks[i], Ct);
            var (code, output) = await BashAsync(script, work, home);
            Assert.True(code == 0, $"README block {i + 1} of the runnable ones exited {code}:\n{blocks[i]}\n--- output ---\n{output}");
        }

        // What the blocks promise: a trained and a registered model, labelled images, an export whose paths resolve.
        Assert.True(File.Exists(Path.Combine(work, "models", "first.onnx")));
        Assert.True(File.Exists(Path.Combine(work, "001.png")));
        using var coco = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(work, "pets-coco", "annotations.json"), Ct));
        var names = coco.RootElement.GetProperty("images").EnumerateArray().Select(e => e.GetProperty("file_name").GetString()!).ToList();
        Assert.Equal(4, names.Count);
        Assert.All(names, name => Assert.True(File.Exists(Path.Combine(work, "pets-coco", name)), name));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(work, "pets-yolo", "images"), "*.jpg", SearchOption.AllDirectories));
    }

    private static async Task<(int Code, string Output)> BashAsync(string script, string workingDirectory, string home)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-euo");
        start.ArgumentList.Add("pipefail");
        start.ArgumentList.Add(script);
        start.Environment["HOME"] = home;
        start.Environment["DOTNET_CLI_HOME"] = Environment.GetEnvironmentVariable("DOTNET_CLI_HOME") ?? Environment.GetEnvironmentVariable("HOME") ?? home;
        start.Environment["LABELING_LocalBlobStore__FlushToDisk"] = "false"; // tests need no fsync
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out after 5 minutes");
        }

        output.Append(await stdout).Append(await stderr);
        return (process.ExitCode, output.ToString());
    }

    /// <summary>~/photos/&lt;tag&gt;/001.jpg and 002.jpg: 640 × 480 JPEGs, a coloured shape on a plain ground.</summary>
    private static void WritePhotos(string root)
    {
        var tags = new[] { ("dog", SKColors.SaddleBrown), ("cat", SKColors.DimGray) };
        foreach (var (tag, colour) in tags)
        {
            Directory.CreateDirectory(Path.Combine(root, tag));
            for (var n = 1; n <= 2; n++)
            {
                using var bitmap = new SKBitmap(640, 480);
                using (var canvas = new SKCanvas(bitmap))
                using (var paint = new SKPaint { Color = colour })
                {
                    canvas.Clear(n == 1 ? SKColors.LightGreen : SKColors.LightSkyBlue);
                    canvas.DrawOval(new SKRect(120 + (40 * n), 80, 420 + (40 * n), 340), paint);
                }

                using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
                File.WriteAllBytes(Path.Combine(root, tag, $"{n:000}.jpg"), jpeg.ToArray());
            }
        }
    }

    /// <summary>A constant region-embedding model (a box for dog, one for cat, a background one), in the trainer's tiny space.</summary>
    private static void WriteDetector(string path)
    {
        var encoder = new HashBowEncoder(32);
        DetectorModels.ConstantRegionEmbedding(path,
            new float[,] { { 16, 16, 48, 48 }, { 20, 20, 40, 40 }, { 0, 0, 64, 64 } }, [0.9f, 0.8f, 0.2f],
            DetectorModels.EmbeddingRows(encoder, ["dog", "cat", "background"]),
            new DetectorModels.RegionSettings { InputSize = 64, Space = encoder.Space, LogitScale = 10, LogitBias = -8 });
    }

    [GeneratedRegex(@"^```bash\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex BashBlock();

    public void Dispose() => _folder.Dispose();
}
