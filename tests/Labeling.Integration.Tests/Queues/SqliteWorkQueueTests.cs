using Labeling.Queues;
using Labeling.Sql;
using Microsoft.Extensions.Options;

namespace Labeling.Integration.Tests.Queues;

/// <summary>The work queue contract on the embedded SQLite queue table.</summary>
public sealed class SqliteWorkQueueTests : WorkQueueContract, IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<LabelsDatabase> _databases = [];

    protected override Task<IWorkQueueFactory> CreateFactoryAsync(int maxDequeueCount = 5)
    {
        var database = _folder.CreateMigratedSqlite($"queue-{_databases.Count}.db");
        _databases.Add(database);
        IWorkQueueFactory factory = new SqliteWorkQueueFactory(database, Options.Create(new WorkQueueOptions { MaxDequeueCount = maxDequeueCount }), TimeProvider.System);
        return Task.FromResult(factory);
    }

    [Fact]
    public async Task Messages_SurviveReopeningTheDatabase()
    {
        var database = _folder.CreateMigratedSqlite("durable.db");
        var options = Options.Create(new WorkQueueOptions());
        var queue = new SqliteWorkQueueFactory(database, options, TimeProvider.System).GetQueue("durable");
        await queue.SendAsync("kept", null, Ct);
        await database.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        await using var reopened = _folder.CreateMigratedSqlite("durable.db");
        var again = new SqliteWorkQueueFactory(reopened, options, TimeProvider.System).GetQueue("durable");

        Assert.Equal("kept", Assert.Single(await again.ReceiveAsync(1, TimeSpan.FromMinutes(1), Ct)).Body);
    }

    [Fact]
    public async Task QueuesSharingATable_AreIsolatedByName()
    {
        var factory = await CreateFactoryAsync();
        var a = factory.GetQueue("alpha");
        var b = factory.GetQueue("beta");
        await a.SendAsync("for a", null, Ct);

        Assert.Empty(await b.ReceiveAsync(5, TimeSpan.FromMinutes(1), Ct));
        Assert.Equal("for a", Assert.Single(await a.ReceiveAsync(5, TimeSpan.FromMinutes(1), Ct)).Body);
    }

    public void Dispose()
    {
        foreach (var database in _databases)
        {
            database.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _folder.Dispose();
    }
}
