using Labeling.Labels;
using Labeling.Schema;
using Labeling.Sql;
using Labeling.Testing;
using Npgsql;

namespace Labeling.Integration.Tests.Labels;

/// <summary>A PostgreSQL server that goes away mid-use: calls fail with a clear error, nothing committed is lost, and the store works again once it is back.</summary>
public sealed class DatabaseOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Postgres_StoppedAndRestarted_CallsFailWhileDown_ThenWorkWithNothingLost()
    {
        // A server of its own: stopping the shared one would break the tests running beside this one.
        await using var server = await PostgresServer.StartAsync(durable: true, Ct);
        var connectionString = await server.CreateDatabaseAsync("outage", Ct);
        await using var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = connectionString });
        database.Migrate();
        var store = new PostgresLabelStore(database);
        var dataset = await store.EnsureDatasetAsync("pets", Ct);
        var image = (await store.RegisterImagesAsync(dataset, [new("inbox/pets/1.jpg", "h1")], Ct))[0].ImageId;

        await server.StopAsync(Ct);
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => store.SetStatusAsync([image], ImageStatus.Queued, null, Ct));
        await server.StartAgainAsync(Ct);
        await store.SetStatusAsync([image], ImageStatus.Queued, null, Ct);

        Assert.True(error.IsTransient || error.InnerException is System.Net.Sockets.SocketException, $"expected a transient connection error, got: {error.Message}");
        var stored = Assert.Single(await store.GetImagesAsync([image], Ct));
        Assert.Equal((ImageStatus.Queued, 1), (stored.Status, stored.Attempts));
        Assert.Equal(1, Assert.Single(await store.GetProgressAsync("pets", Ct)).Images);
    }
}
