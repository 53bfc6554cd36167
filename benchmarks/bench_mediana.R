# Peer benchmark: R's Mediana (Debian r-cran-mediana) simulating the plain
# version of mssim's default trial: a normal endpoint, two arms of n patients,
# a one-sided t-test at alpha 0.025, n.sims trials on one core (proc.load = 1).
# No daily dynamics, screening, dropout or instruments: the cheapest honest
# peer. benchmarks/run.py calls it and compares its time with mssim's.
#
# What is timed: CSE() as a whole (data model, simulation, analysis,
# evaluation), R start-up and library loading excluded. Mediana always runs
# its trials in a cluster worker (parallel::makeCluster, here with one core),
# so the CPU time of this R process alone misses the simulation: with the
# default PSOCK cluster the worker is a separate R process that nobody waits
# for, and measured that way 1,000 trials of 100 per arm "cost" 0.54 s of CPU
# against about 3 s of wall time. The cluster is therefore a FORK of this
# process (same Mediana code, same L'Ecuyer streams, the same estimated
# power), whose CPU time R collects when the worker ends: the CPU time
# reported is user + system of this process and of its children. The fork
# also spares the worker a fresh R start-up and library load, so Mediana's
# time is, if anything, slightly favourable to Mediana.
#
# Usage: Rscript benchmarks/bench_mediana.R N_SIMS N_PER_ARM SEED
# Prints one JSON line: wall seconds and CPU seconds inside CSE(), the CPU
# seconds of this process alone, the estimated power and the Mediana version.
suppressPackageStartupMessages(library(Mediana))
args <- commandArgs(trailingOnly = TRUE)
n.sims <- as.integer(args[1])
n <- as.integer(args[2])
seed <- as.integer(args[3])
data.model <- DataModel() +
  OutcomeDist(outcome.dist = "NormalDist") +
  SampleSize(n) +
  Sample(id = "Sham", outcome.par = parameters(parameters(mean = 0, sd = 1))) +
  Sample(id = "Acupuncture", outcome.par = parameters(parameters(mean = 0.3, sd = 1)))
analysis.model <- AnalysisModel() +
  Test(id = "Acupuncture vs sham", samples = samples("Sham", "Acupuncture"), method = "TTest")
evaluation.model <- EvaluationModel() +
  Criterion(id = "Power", method = "MarginalPower", tests = tests("Acupuncture vs sham"),
            labels = c("Acupuncture vs sham"), par = parameters(alpha = 0.025))
sim <- SimParameters(n.sims = n.sims, proc.load = 1, seed = seed)
# Mediana calls parallel::makeCluster(cores) with the default cluster type.
parallel:::setDefaultClusterOptions(type = "FORK")
elapsed <- system.time(res <- CSE(data.model, analysis.model, evaluation.model, sim))
own <- elapsed[["user.self"]] + elapsed[["sys.self"]]
cat(sprintf(
  '{"seconds": %.4f, "cpu_seconds": %.4f, "parent_cpu_seconds": %.4f, "power": %.4f, "version": "%s"}\n',
  elapsed[["elapsed"]], own + elapsed[["user.child"]] + elapsed[["sys.child"]], own,
  res$simulation.results$result[1], as.character(packageVersion("Mediana"))
))
