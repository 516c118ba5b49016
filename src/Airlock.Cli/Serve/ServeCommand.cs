using System.CommandLine;
using System.Net.Sockets;
using Airlock.Cli.Run;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Local;
using Airlock.Server.Configuration;
using Airlock.Server.Hosting;

namespace Airlock.Cli.Serve;

/// <summary><c>airlock serve</c>: the gateway.</summary>
internal static class ServeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var config = new Option<string?>("--config") { Description = "The gateway's YAML config file (flags and AIRLOCK_STORE override it)." };
        var listen = new Option<string?>("--listen") { Description = $"The API's IP:PORT (default {ServerConfig.DefaultListen}; port 0 picks one)." };
        var controlListen = new Option<string?>("--control-listen") { Description = $"Where the sandboxes' proxies dial in, IP:PORT (default {ServerConfig.DefaultControlListen})." };
        var store = new Option<string?>("--store") { Description = "sqlite:PATH or postgres://… (default: SQLite in the user's data directory)." };
        var driver = new Option<string?>("--driver") { Description = "local (default) or kubernetes." };
        driver.AcceptOnlyFromAmong("local", "kubernetes");

        var command = new Command("serve", "Run the gateway: the API, the control plane the sandboxes' proxies dial, and the sandbox driver.")
        {
            config, listen, controlListen, store, driver,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            ServerConfig settings;
            if (parse.GetValue(config) is { } path)
            {
                var loaded = ServerConfigLoader.Load(path);
                foreach (var error in loaded.Errors)
                {
                    await stderr.WriteLineAsync(error).ConfigureAwait(false);
                }

                if (loaded.Config is null)
                {
                    return ExitCodes.InvalidPolicy;
                }

                settings = loaded.Config;
            }
            else
            {
                settings = new ServerConfig();
            }

            foreach (var (option, name) in new[] { (listen, "--listen"), (controlListen, "--control-listen") })
            {
                if (parse.GetValue(option) is { } address && !ServerConfigLoader.TryParseListen(address, out _))
                {
                    await stderr.WriteLineAsync($"airlock serve: {name} '{address}' is not IP:PORT (for example 127.0.0.1:8080)").ConfigureAwait(false);
                    return ExitCodes.Usage;
                }
            }

            settings = settings with
            {
                Listen = parse.GetValue(listen) ?? settings.Listen,
                ControlListen = parse.GetValue(controlListen) ?? settings.ControlListen,
                Store = parse.GetValue(store) ?? (Environment.GetEnvironmentVariable("AIRLOCK_STORE") is { Length: > 0 } fromEnvironment ? fromEnvironment : settings.Store),
                Driver = parse.GetValue(driver) switch { "kubernetes" => GatewayDriver.Kubernetes, "local" => GatewayDriver.Local, _ => settings.Driver },
            };
            if (settings.Driver == GatewayDriver.Kubernetes && (settings.Kubernetes.Namespace is null || settings.Kubernetes.Image is null))
            {
                await stderr.WriteLineAsync("airlock serve: the kubernetes driver needs a config file with kubernetes.namespace and kubernetes.image (--config)").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            GatewayHost host;
            try
            {
                host = await GatewayHost.StartAsync(
                    settings,
                    new GatewayHostOptions
                    {
                        // Its own state directory: the gateway deletes sandboxes it has no record of, never `airlock sandbox create`'s.
                        LocalDriver = new LocalDriverOptions { StateDirectory = Path.Combine(LocalDriverOptions.DefaultStateDirectory(), "gateway"), AirlockCommand = RunCommand.SelfCommand() },
                        BootstrapAdminToken = Environment.GetEnvironmentVariable("AIRLOCK_BOOTSTRAP_ADMIN_TOKEN"),
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SandboxException or SocketException or IOException or Airlock.Server.Store.StoreException)
            {
                await stderr.WriteLineAsync($"airlock serve: {e.Message}").ConfigureAwait(false);
                return ExitCodes.SandboxFailed;
            }

            await using (host.ConfigureAwait(false))
            {
                // One line on stdout that scripts can read the bound addresses from.
                await stdout.WriteLineAsync($"airlock serve: api {host.ApiAddress} control {host.ControlAddress} driver {host.Driver.Name}").ConfigureAwait(false);
                await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    await stderr.WriteLineAsync("airlock serve: stopping").ConfigureAwait(false);
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
