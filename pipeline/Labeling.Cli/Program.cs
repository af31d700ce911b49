return await Labeling.Cli.LabelingCli.RunAsync(args, Console.Out, Console.Error);
