namespace Labeling.Blobs;

/// <summary>
/// A read-only view of a stream that throws <see cref="BlobTooLargeException"/> as soon as more than
/// <see cref="Limit"/> bytes have been read, so a blob that grows between a size check and its read (or a store
/// that reports a wrong size) can never make a reader hold more than the limit. Disposes the inner stream.
/// </summary>
public sealed class LengthLimitedStream(Stream inner, long limit, string? name = null) : Stream
{
    private long _read;

    /// <summary>The most bytes this stream gives out.</summary>
    public long Limit { get; } = limit >= 0 ? limit : throw new ArgumentOutOfRangeException(nameof(limit));

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Asking for one byte past the limit is what tells "exactly the limit" from "over it".
        var n = inner.Read(buffer[..Allowed(buffer.Length)]);
        return Count(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken);
        return Count(n);
    }

    private int Allowed(int requested) => Limit - _read < requested ? (int)(Limit - _read + 1) : requested;

    private int Count(int n)
    {
        _read += n;
        if (_read > Limit)
        {
            throw new BlobTooLargeException(Limit, name);
        }

        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
