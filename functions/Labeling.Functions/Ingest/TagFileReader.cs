using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Labeling.Functions.Ingest;

/// <summary>One row of a tag file: a relative path and its tags, or why the row was refused.</summary>
/// <param name="Line">1-based line where the row starts.</param>
/// <param name="Path">The image path relative to the dataset folder.</param>
/// <param name="Tags">Raw tag names.</param>
/// <param name="Error">Why the row was refused, or null.</param>
internal sealed record TagFileEntry(int Line, string Path, IReadOnlyList<string> Tags, string? Error)
{
    public static TagFileEntry Failed(int line, string error) => new(line, "", [], error);
}

/// <summary>
/// Streams <c>tags.csv</c> (RFC 4180) and <c>tags.jsonl</c> rows; a bad row is reported, the rest go on. A line (or a
/// quoted CSV record) longer than <see cref="MaxLineChars"/> is refused and stepped over without being held whole.
/// </summary>
internal static class TagFileReader
{
    /// <summary>Longest line, or quoted CSV record over several lines, read from a tag file, in characters.</summary>
    public const int MaxLineChars = 1024 * 1024;

    private static readonly string TooLong = $"the line is longer than {MaxLineChars} characters; it is skipped";

    private static readonly char[] TagSeparators = [';', '|'];
    private static readonly HashSet<string> PathHeaders = new(StringComparer.OrdinalIgnoreCase) { "relative_path", "path", "file", "file_name", "filename" };
    private static readonly HashSet<string> TagHeaders = new(StringComparer.OrdinalIgnoreCase) { "tag", "tags", "label", "labels" };

    /// <summary>
    /// Rows <c>relative_path,tag</c>; the tag cell may hold several tags separated by ';' or '|'. Fields
    /// may be quoted ("a, b.jpg", doubled quotes inside, line breaks inside); an optional header row is skipped.
    /// </summary>
    public static async IAsyncEnumerable<TagFileEntry> ReadCsvAsync(TextReader reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = new LineReader(reader, MaxLineChars);
        var lineNumber = 0;
        var seenRecord = false;
        string? line;
        while ((line = await lines.ReadLineAsync(cancellationToken)) is not null)
        {
            lineNumber++;
            var start = lineNumber;
            if (lines.LastWasTooLong)
            {
                yield return TagFileEntry.Failed(start, TooLong);
                continue;
            }

            var fields = new List<string>();
            var field = new StringBuilder();
            var inQuotes = false;
            var quoted = false;
            var afterQuote = false;
            string? error = null;
            var text = line;
            while (true)
            {
                for (var i = 0; i < text.Length && error is null; i++)
                {
                    var c = text[i];
                    if (inQuotes)
                    {
                        if (c != '"')
                        {
                            field.Append(c);
                        }
                        else if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i++;
                        }
                        else
                        {
                            inQuotes = false;
                            afterQuote = true;
                        }
                    }
                    else if (c == ',')
                    {
                        fields.Add(field.ToString());
                        field.Clear();
                        quoted = afterQuote = false;
                    }
                    else if (afterQuote)
                    {
                        error = "unexpected text after a closing quote (double a quote inside a quoted field: \"\")";
                    }
                    else if (c == '"')
                    {
                        if (field.Length == 0 && !quoted)
                        {
                            inQuotes = quoted = true;
                        }
                        else
                        {
                            error = "a quote inside an unquoted field (quote the whole field and double the quote)";
                        }
                    }
                    else
                    {
                        field.Append(c);
                    }
                }

                if (error is not null || !inQuotes)
                {
                    break;
                }

                // A quoted field goes on over a line break.
                var next = await lines.ReadLineAsync(cancellationToken);
                if (next is null)
                {
                    error = "a quoted field is not closed before the end of the file";
                    break;
                }

                lineNumber++;
                if (lines.LastWasTooLong || field.Length + next.Length > MaxLineChars)
                {
                    error = $"a quoted field runs over more than {MaxLineChars} characters; the record is skipped";
                    break;
                }

                field.Append('\n');
                text = next;
            }

            if (error is not null)
            {
                yield return TagFileEntry.Failed(start, error);
                continue;
            }

            fields.Add(field.ToString());
            if (fields.Count == 1 && fields[0].Length == 0 && !quoted)
            {
                continue;
            }

            var first = !seenRecord;
            seenRecord = true;
            if (first && fields.Count == 2 && PathHeaders.Contains(fields[0].Trim()) && TagHeaders.Contains(fields[1].Trim()))
            {
                continue;
            }

            if (fields.Count != 2)
            {
                yield return TagFileEntry.Failed(start, $"expected 2 columns (relative_path,tag), found {fields.Count}; quote a path that holds a comma");
                continue;
            }

            yield return Row(start, fields[0], SplitTags(fields[1]));
        }
    }

    /// <summary>One JSON object per line: <c>{"path": "fox/1.jpg", "tags": ["fox", "snow"]}</c>; blank lines are skipped.</summary>
    public static async IAsyncEnumerable<TagFileEntry> ReadJsonLinesAsync(TextReader reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = new LineReader(reader, MaxLineChars);
        var lineNumber = 0;
        string? line;
        while ((line = await lines.ReadLineAsync(cancellationToken)) is not null)
        {
            lineNumber++;
            if (lines.LastWasTooLong)
            {
                yield return TagFileEntry.Failed(lineNumber, TooLong);
                continue;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            yield return ParseJsonLine(lineNumber, line);
        }
    }

    private static TagFileEntry ParseJsonLine(int lineNumber, string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return TagFileEntry.Failed(lineNumber, "expected a JSON object {\"path\": \"...\", \"tags\": [\"...\"]}");
            }

            if (!root.TryGetProperty("path", out var path) || path.ValueKind != JsonValueKind.String)
            {
                return TagFileEntry.Failed(lineNumber, "\"path\" must be a string");
            }

            if (!root.TryGetProperty("tags", out var tags) || tags.ValueKind != JsonValueKind.Array)
            {
                return TagFileEntry.Failed(lineNumber, "\"tags\" must be an array of strings");
            }

            var list = new List<string>();
            foreach (var tag in tags.EnumerateArray())
            {
                if (tag.ValueKind != JsonValueKind.String)
                {
                    return TagFileEntry.Failed(lineNumber, "\"tags\" must be an array of strings");
                }

                list.Add(tag.GetString()!);
            }

            return Row(lineNumber, path.GetString()!, list);
        }
        catch (JsonException e)
        {
            return TagFileEntry.Failed(lineNumber, $"not valid JSON ({e.Message})");
        }
    }

    private static List<string> SplitTags(string cell) =>
        cell.Split(TagSeparators, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    private static TagFileEntry Row(int line, string path, IReadOnlyList<string> tags)
    {
        if (path.Trim().Length == 0)
        {
            return TagFileEntry.Failed(line, "the path is empty");
        }

        var cleaned = tags.Select(t => t.Trim()).Where(t => t.Length > 0).ToList();
        return cleaned.Count == 0 ? TagFileEntry.Failed(line, "the row has no tag") : new TagFileEntry(line, path, cleaned, null);
    }

    /// <summary>
    /// <see cref="TextReader.ReadLineAsync(CancellationToken)"/> (line ends \n, \r\n or \r) that keeps at most
    /// <c>maxChars</c> of a line: a longer one comes back empty with <see cref="LastWasTooLong"/> set, the rest of it read and dropped.
    /// </summary>
    private sealed class LineReader(TextReader reader, int maxChars)
    {
        private readonly char[] _buffer = new char[16 * 1024];
        private readonly StringBuilder _line = new();
        private int _position;
        private int _length;
        private bool _skipLineFeed;

        public bool LastWasTooLong { get; private set; }

        public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            _line.Clear();
            LastWasTooLong = false;
            var any = false;
            while (true)
            {
                if (_position == _length)
                {
                    _length = await reader.ReadAsync(_buffer, cancellationToken);
                    _position = 0;
                    if (_length == 0)
                    {
                        return any ? Result() : null;
                    }
                }

                if (_skipLineFeed)
                {
                    _skipLineFeed = false;
                    if (_buffer[_position] == '\n')
                    {
                        _position++;
                        continue;
                    }
                }

                var span = _buffer.AsSpan(_position, _length - _position);
                var end = span.IndexOfAny('\r', '\n');
                var take = end < 0 ? span.Length : end;
                any = true;
                if (!LastWasTooLong)
                {
                    if (_line.Length + take > maxChars)
                    {
                        LastWasTooLong = true;
                        _line.Clear();
                    }
                    else
                    {
                        _line.Append(span[..take]);
                    }
                }

                _position += take;
                if (end >= 0)
                {
                    _skipLineFeed = _buffer[_position] == '\r';
                    _position++;
                    return Result();
                }
            }
        }

        private string Result() => LastWasTooLong ? "" : _line.ToString();
    }
}
