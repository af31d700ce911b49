using System.Data.Common;
using System.Net.Sockets;
using System.Reflection;

namespace Labeling.Functions.Batches;

/// <summary>
/// Which failures are worth retrying: database errors, I/O and network failures, timeouts, and Azure
/// <c>RequestFailedException</c>s with a status of 0 (no response), 408, 429 or 5xx. Recognised
/// without referencing the Azure SDK (which <c>Labeling.Functions</c> must not drag in).
/// </summary>
public static class TransientErrors
{
    private const string AzureRequestFailed = "Azure.RequestFailedException";

    /// <summary>True when <paramref name="exception"/> (or an exception it wraps) is transient.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case OperationCanceledException:
                    return false;
                case DbException or IOException or TimeoutException or HttpRequestException or SocketException:
                    return true;
            }

            if (e.GetType().FullName == AzureRequestFailed && AzureStatus(e) is { } status)
            {
                return status is 0 or 408 or 429 or >= 500;
            }
        }

        return false;
    }

    // RequestFailedException.Status, read by name: the only way to see it without a reference to Azure.Core.
    private static int? AzureStatus(Exception e) =>
        e.GetType().GetProperty("Status", BindingFlags.Public | BindingFlags.Instance)?.GetValue(e) as int?;
}
