# Peer benchmark: R's Mediana (Debian r-cran-mediana) simulating the plain
# version of mssim's default trial: a normal endpoint, two arms of n patients,
# a one-sided t-test at alpha 0.025, n.sims trials on one core (proc.load = 1).
# No daily dynamics, screening, dropout or instruments: the cheapest honest
# peer. benchmarks/run.py calls it and compares its time with mssim's.
#
# Usage: Rscript benchmarks/bench_mediana.R N_SIMS N_PER_ARM SEED
# Prints one JSON line: wall seconds and CPU seconds (user + system of this
# process) inside CSE() (R start-up and library loading excluded), the
# estimated power and the Mediana version.
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
elapsed <- system.time(res <- CSE(data.model, analysis.model, evaluation.model, sim))
cat(sprintf('{"seconds": %.4f, "cpu_seconds": %.4f, "power": %.4f, "version": "%s"}\n',
            elapsed[["elapsed"]], elapsed[["user.self"]] + elapsed[["sys.self"]],
            res$simulation.results$result[1], as.character(packageVersion("Mediana"))))
