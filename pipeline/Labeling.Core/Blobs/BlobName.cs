using System.Text;

namespace Labeling.Blobs;

/// <summary>
/// The blob-name rules every <see cref="IBlobStore"/> enforces, the intersection of what Azure
/// Blob Storage and a POSIX folder can hold safely: no traversal, no absolute paths, no
/// backslashes or control characters, no empty, "." or ".." segments, no segment ending in a
/// dot (Azure drops it), at most 1,024 characters and 255 UTF-8 bytes per segment.
/// </summary>
public static class BlobName
{
    public const int MaxLength = 1024;
    public const int MaxSegmentBytes = 255;

    /// <summary>Throws <see cref="InvalidBlobNameException"/> unless <paramref name="name"/> is a valid blob name.</summary>
    public static void Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var reason = FindProblem(name, isPrefix: false);
        if (reason is not null)
        {
            throw new InvalidBlobNameException(name, reason);
        }
    }

    /// <summary>
    /// Validates a listing prefix: empty is allowed, and so is a trailing "/" or a partial last
    /// segment ("inbox/da"), but not traversal or forbidden characters.
    /// </summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
        {
            return;
        }

        var reason = FindProblem(prefix, isPrefix: true);
        if (reason is not null)
        {
            throw new InvalidBlobNameException(prefix, reason);
        }
    }

    /// <summary>Returns why <paramref name="name"/> is not a valid blob name, or null when it is.</summary>
    public static string? FindProblem(string name, bool isPrefix = false)
    {
        if (name.Length == 0)
        {
            return "the name is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"longer than {MaxLength} characters ({name.Length})";
        }

        if (name[0] == '/')
        {
            return "absolute paths are not allowed";
        }

        foreach (var rune in name.EnumerateRunes())
        {
            if (rune.Value == '\\')
            {
                return "backslashes are not allowed";
            }

            if (Rune.IsControl(rune) || rune.Value is 0xFFFE or 0xFFFF)
            {
                return $"control character U+{rune.Value:X4} is not allowed";
            }
        }

        if (!name.IsNormalized(NormalizationForm.FormC))
        {
            // Two spellings of one name would be two blobs in Azure but may be one file on disk.
            return "the name is not in Unicode normalisation form C";
        }

        var segments = name.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var last = i == segments.Length - 1;
            if (segment.Length == 0)
            {
                if (last && isPrefix)
                {
                    continue;
                }

                return last ? "the name ends with '/'" : "empty path segments ('//') are not allowed";
            }

            if (segment is "." or "..")
            {
                return $"'{segment}' path segments are not allowed";
            }

            if (segment.EndsWith('.') && !(last && isPrefix))
            {
                return "a path segment may not end with '.'";
            }

            if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
            {
                return $"a path segment is longer than {MaxSegmentBytes} UTF-8 bytes";
            }
        }

        return null;
    }

    /// <summary>Compares names the way Azure lists them: by UTF-8 bytes.</summary>
    public static int CompareOrdinalUtf8(string a, string b)
    {
        // UTF-16 ordinal order differs from UTF-8 byte order only around surrogates; compare by code point.
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            var ha = ea.MoveNext();
            var hb = eb.MoveNext();
            if (!ha || !hb)
            {
                return ha.CompareTo(hb);
            }

            var c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0)
            {
                return c;
            }
        }
    }

    /// <summary>A name safe to put in a log line or error message (control characters escaped, long names cut).</summary>
    public static string Printable(string name)
    {
        var sb = new StringBuilder(Math.Min(name.Length, 200));
        foreach (var ch in name)
        {
            if (sb.Length >= 200)
            {
                sb.Append('…');
                break;
            }

            if (char.IsControl(ch))
            {
                sb.Append($"\\u{(int)ch:X4}");
            }
            else
            {
                sb.Append(ch);
            }
        }

        return sb.ToString();
    }
}
