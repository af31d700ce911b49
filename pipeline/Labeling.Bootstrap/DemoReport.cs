using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Labeling.Bootstrap;

/// <summary>One evaluated model of the demo: a bootstrap round (0 = the seed) or the oracle.</summary>
/// <param name="Name">What the row is: <c>seed</c>, <c>round 1</c>, …, <c>oracle</c>.</param>
/// <param name="Version">The registered model version (empty for the oracle, which is evaluated but not registered).</param>
/// <param name="Metrics">COCO metrics on the gold split.</param>
/// <param name="PseudoBoxes">Pseudo boxes in the pool the model was trained on (0 for the seed and the oracle).</param>
/// <param name="TrainSeconds">Training time.</param>
public sealed record DemoRow(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("metrics")] GoldMetrics Metrics,
    [property: JsonPropertyName("pseudoBoxes")] long PseudoBoxes,
    [property: JsonPropertyName("trainSeconds")] double TrainSeconds);

/// <summary>What the demo measured: the rounds in order (seed first), the oracle, and how the run was set up.</summary>
public sealed record DemoReport(
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("setup")] string Setup,
    [property: JsonPropertyName("rounds")] IReadOnlyList<DemoRow> Rounds,
    [property: JsonPropertyName("oracle")] DemoRow? Oracle,
    [property: JsonPropertyName("minutes")] double Minutes)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The table as GitHub markdown: rounds × (AP, AP50, AP-base, AP-novel), the oracle last.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("| model | version | AP | AP50 | AP-base | AP-novel | AP50-novel | pseudo boxes | train s |\n");
        text.Append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var row in Oracle is null ? Rounds : Rounds.Append(Oracle))
        {
            var m = row.Metrics;
            text.Append(CultureInfo.InvariantCulture,
                $"| {row.Name} | {(row.Version.Length == 0 ? "-" : row.Version)} | {F(m.AP)} | {F(m.AP50)} | {F(m.APBase)} | {F(m.APNovel)} | {F(m.AP50Novel)} | {row.PseudoBoxes} | {row.TrainSeconds:F0} |\n");
        }

        return text.ToString();
    }

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    private static string F(double? value) => value is { } v && !double.IsNaN(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "-";
}

/// <summary>COCO metrics of one model on the gold split, overall and over the base and novel classes.</summary>
/// <param name="AP">COCO AP (IoU 0.50:0.95) over every class with gold boxes.</param>
/// <param name="AP50">AP at IoU 0.5.</param>
/// <param name="APBase">Mean per-class AP over the base classes (classes with human boxes outside the gold split).</param>
/// <param name="APNovel">Mean per-class AP over the novel classes.</param>
/// <param name="AP50Base">Mean per-class AP50 over the base classes.</param>
/// <param name="AP50Novel">Mean per-class AP50 over the novel classes.</param>
/// <param name="Images">Gold images evaluated.</param>
/// <param name="Detections">Detections scored.</param>
public sealed record GoldMetrics(
    [property: JsonPropertyName("AP")] double AP,
    [property: JsonPropertyName("AP50")] double AP50,
    [property: JsonPropertyName("APbase")] double? APBase,
    [property: JsonPropertyName("APnovel")] double? APNovel,
    [property: JsonPropertyName("AP50base")] double? AP50Base,
    [property: JsonPropertyName("AP50novel")] double? AP50Novel,
    [property: JsonPropertyName("images")] int Images,
    [property: JsonPropertyName("detections")] int Detections);
