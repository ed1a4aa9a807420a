using Edge.Cli;

return await CommandDispatcher.RunAsync(args).ConfigureAwait(false);
