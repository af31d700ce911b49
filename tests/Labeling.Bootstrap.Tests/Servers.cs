[assembly: AssemblyFixture(typeof(Labeling.Testing.PostgresFixture))]
[assembly: AssemblyFixture(typeof(Labeling.Testing.AzuriteFixture))]
