return await Labeling.Benchmarks.StorageBenchmarks.RunAsync(args);
