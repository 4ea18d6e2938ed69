using System.Text.Json;

namespace Okap.Infra.Tests;

/// <summary>
/// Compiles the Bicep once per test run (into a temp folder) and shares the results:
/// the ARM template of infra/main.bicep, the sample and edge parameter files, and the lint run.
/// </summary>
public sealed class CompiledInfra : IDisposable
{
    private readonly string _outDir = Directory.CreateTempSubdirectory("okap-infra-tests-").FullName;
    private readonly Lazy<(BicepRun Run, ArmTemplate Template)> _main;
    private readonly Lazy<(BicepRun Run, JsonDocument Parameters)> _sampleParams;
    private readonly Lazy<(BicepRun Run, JsonDocument Parameters)> _edgeParams;
    private readonly Lazy<BicepRun> _lint;

    public CompiledInfra()
    {
        _main = new(() =>
        {
            var outFile = Path.Combine(_outDir, "main.json");
            var run = BicepCli.Run("build", BicepCli.Repo("infra", "main.bicep"), "--outfile", outFile);
            Assert.True(run.ExitCode == 0, $"bicep build failed:\n{run.Output}");
            return (run, ArmTemplate.Load(outFile));
        });
        _sampleParams = new(() => BuildParams(BicepCli.Repo("infra", "main.bicepparam"), "main.parameters.json"));
        _edgeParams = new(() => BuildParams(
            BicepCli.Repo("tests", "Okap.Infra.Tests", "params", "edge.bicepparam"), "edge.parameters.json"));
        _lint = new(() => BicepCli.Run("lint", "--pattern", "infra/**/*.bicep"));
    }

    public ArmTemplate Main => _main.Value.Template;

    public BicepRun MainBuild => _main.Value.Run;

    public BicepRun SampleParamsBuild => _sampleParams.Value.Run;

    public JsonElement SampleParameters => _sampleParams.Value.Parameters.RootElement.GetProperty("parameters");

    public BicepRun EdgeParamsBuild => _edgeParams.Value.Run;

    public JsonElement EdgeParameters => _edgeParams.Value.Parameters.RootElement.GetProperty("parameters");

    public BicepRun Lint => _lint.Value;

    public void Dispose()
    {
        if (_sampleParams.IsValueCreated)
        {
            _sampleParams.Value.Parameters.Dispose();
        }

        if (_edgeParams.IsValueCreated)
        {
            _edgeParams.Value.Parameters.Dispose();
        }

        try
        {
            Directory.Delete(_outDir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    private (BicepRun, JsonDocument) BuildParams(string paramFile, string outName)
    {
        var outFile = Path.Combine(_outDir, outName);
        var run = BicepCli.Run("build-params", paramFile, "--outfile", outFile);
        Assert.True(run.ExitCode == 0, $"bicep build-params {paramFile} failed:\n{run.Output}");
        return (run, JsonDocument.Parse(File.ReadAllText(outFile)));
    }
}

[CollectionDefinition(Name)]
public sealed class InfraCollection : ICollectionFixture<CompiledInfra>
{
    public const string Name = "Compiled infra";
}
