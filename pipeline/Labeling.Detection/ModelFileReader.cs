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
        using var stream = Open(path, maxBytes, useAsync: false, out var buffer);
        using (buffer)
        {
            var chunk = new byte[1 << 16];
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                Append(buffer, chunk, read, stream, path, maxBytes);
            }

            return Bytes(buffer);
        }
    }

    /// <inheritdoc cref="Read"/>
    public static async ValueTask<byte[]> ReadAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
        var stream = Open(path, maxBytes, useAsync: true, out var buffer);
        await using (stream.ConfigureAwait(false))
        using (buffer)
        {
            var chunk = new byte[1 << 16];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                Append(buffer, chunk, read, stream, path, maxBytes);
            }

            return Bytes(buffer);
        }
    }

    private static FileStream Open(string path, long maxBytes, bool useAsync, out MemoryStream buffer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync);
        if (stream.Length > maxBytes)
        {
            var length = stream.Length;
            stream.Dispose();
            throw TooLarge(Path.GetFileName(path), length, maxBytes);
        }

        buffer = new MemoryStream((int)stream.Length);
        return stream;
    }

    // Reads go to the end, not to the size seen at open: a file that grows meanwhile is still cut off at the limit.
    private static void Append(MemoryStream buffer, byte[] chunk, int read, FileStream stream, string path, long maxBytes)
    {
        if (buffer.Length + read > maxBytes)
        {
            throw TooLarge(Path.GetFileName(path), Math.Max(buffer.Length + read, stream.Length), maxBytes);
        }

        buffer.Write(chunk, 0, read);
    }

    private static byte[] Bytes(MemoryStream buffer) => buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();

    /// <summary>The refusal of a <paramref name="size"/>-byte model over <paramref name="maxBytes"/>.</summary>
    public static OnnxModelRefusedException TooLarge(string name, long size, long maxBytes) =>
        new(name, string.Create(CultureInfo.InvariantCulture,
            $"the file is {size:N0} bytes, over the limit of {maxBytes:N0} bytes ({DetectorOptions.Section}:{nameof(DetectorOptions.MaxModelBytes)}), which is refused."));
}
