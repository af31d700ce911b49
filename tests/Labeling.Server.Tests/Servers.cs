[assembly: AssemblyFixture(typeof(Labeling.Testing.PostgresFixture))]
[assembly: AssemblyFixture(typeof(Labeling.Testing.AzuriteFixture))]

// Hangfire keeps some state process-wide (its global configuration, dashboard metrics); the hosts
// in this assembly are started one test at a time so that no test sees another's.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
