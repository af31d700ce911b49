using System.Text;

namespace Labeling.Labels;

/// <summary>The one rule for tag and class names: trim, lower case, '_' to space, runs of white space to one space, Unicode form C.</summary>
public static class TagName
{
    /// <summary>Longest accepted normalised name, in characters.</summary>
    public const int MaxLength = 256;

    /// <summary>Normalises <paramref name="raw"/>; throws <see cref="ArgumentException"/> when nothing is left or it is too long or holds control characters.</summary>
    public static string Normalise(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var sb = new StringBuilder(raw.Length);
        var pendingSpace = false;
        foreach (var ch in raw.Normalize(NormalizationForm.FormC))
        {
            if (ch == '_' || char.IsWhiteSpace(ch))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }

            if (char.IsControl(ch))
            {
                throw new ArgumentException($"Tag '{Blobs.BlobName.Printable(raw)}' contains a control character.", nameof(raw));
            }

            if (pendingSpace)
            {
                sb.Append(' ');
                pendingSpace = false;
            }

            sb.Append(char.ToLowerInvariant(ch));
        }

        if (sb.Length == 0)
        {
            throw new ArgumentException("A tag name is empty after normalisation.", nameof(raw));
        }

        if (sb.Length > MaxLength)
        {
            throw new ArgumentException($"Tag name is {sb.Length} characters after normalisation; the limit is {MaxLength}.", nameof(raw));
        }

        return sb.ToString();
    }
}
