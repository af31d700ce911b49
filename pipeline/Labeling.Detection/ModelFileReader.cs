using System.Globalization;
using Labeling.Onnx;

namespace Labeling.Detection;

/// <summary>Reads a model file whole, within <see cref="DetectorOptions.MaxModelBytes"/>, so it is checked and loaded from one copy.</summary>
public static class ModelFileReader
{
    /// <summary>Reads <paramref name="path"/>: refused from its size before reading, and while reading should it grow.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="OnnxModelRefusedException">The file is over <paramref name="maxBytes"/>.</exception>
    public static byte[] Read(string path, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var name = Path.GetFileName(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var length = stream.Length;
        if (length > maxBytes)
        {
            throw TooLarge(name, length, maxBytes);
        }

        // Read to the end, not to the size seen above: a file that grows meanwhile is still cut off at the limit.
        using var buffer = new MemoryStream((int)length);
        var chunk = new byte[1 << 16];
        long total = 0;
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            total += read;
            if (total > maxBytes)
            {
                throw TooLarge(name, Math.Max(total, stream.Length), maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }

    /// <summary>The refusal of a <paramref name="size"/>-byte model over <paramref name="maxBytes"/>.</summary>
    public static OnnxModelRefusedException TooLarge(string name, long size, long maxBytes) =>
        new(name, string.Create(CultureInfo.InvariantCulture,
            $"the file is {size:N0} bytes, over the limit of {maxBytes:N0} bytes ({DetectorOptions.Section}:{nameof(DetectorOptions.MaxModelBytes)}), which is refused."));
}
