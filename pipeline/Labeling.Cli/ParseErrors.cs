using System.CommandLine;
using System.Text.RegularExpressions;

namespace Labeling.Cli;

/// <summary>Parse errors in words: "expected a number", not System.CommandLine's <c>System.Nullable`1[System.Single]</c>.</summary>
internal static partial class ParseErrors
{
    /// <summary>Writes each error of <paramref name="parse"/> as <c>error: …</c> and where to find the usage; returns the exit code, 1.</summary>
    public static async Task<int> WriteAsync(ParseResult parse, TextWriter error)
    {
        foreach (var e in parse.Errors)
        {
            await error.WriteLineAsync($"error: {InWords(e.Message)}");
        }

        var path = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            path.Insert(0, result.Command is RootCommand ? "labeling" : result.Command.Name);
        }

        await error.WriteLineAsync($"Run '{string.Join(' ', path)} --help' for its options.");
        return 1;
    }

    /// <summary><paramref name="message"/> with "as expected type 'T'" replaced by what T is in words.</summary>
    public static string InWords(string message) =>
        ExpectedType().Replace(message, m => $": expected {Describe(m.Groups[1].Value)}.");

    private static string Describe(string typeName)
    {
        var nullable = NullableOf().Match(typeName);
        var type = nullable.Success ? nullable.Groups[1].Value : typeName;
        return type switch
        {
            "System.Single" or "System.Double" or "System.Decimal" => "a number",
            "System.Int16" or "System.Int32" or "System.Int64" or "System.Byte" or "System.UInt16" or "System.UInt32" or "System.UInt64" => "a whole number",
            "System.Boolean" => "true or false",
            "System.TimeSpan" => "a duration such as 00:05:00",
            "System.DateTime" or "System.DateTimeOffset" => "a date and time such as 2025-01-31T12:00:00",
            "System.Guid" => "a GUID",
            "System.Uri" => "a URL",
            "System.IO.FileInfo" => "a file path",
            "System.IO.DirectoryInfo" => "a folder path",
            _ => "a value of type " + type[(type.LastIndexOf('.') + 1)..],
        };
    }

    [GeneratedRegex(@" as expected type '([^']+)'\.?", RegexOptions.CultureInvariant)]
    private static partial Regex ExpectedType();

    [GeneratedRegex(@"^System\.Nullable`1\[(.+)\]$", RegexOptions.CultureInvariant)]
    private static partial Regex NullableOf();
}
