#include "metrics/families.hpp"

#include <string>

namespace drwatch::metrics {
namespace {

// Every declared family; a scrape test fails on a family missing here.
constexpr const Family* kAll[] = {
    &kCheckIntervalSeconds,
    &kCheckTimeoutSeconds,
    &kCheckSuccess,
    &kCheckDurationSeconds,
    &kCheckLastRunTimestampSeconds,
    &kCheckLastSuccessTimestampSeconds,
    &kCheckRunsTotal,
    &kCheckScheduleDelaySeconds,
    &kSchedulerRunsInFlight,
    &kStateWriteErrorsTotal,
    &kObjectiveTargetSeconds,
    &kObjectiveObservedSeconds,
    &kObjectiveMet,
    &kShardInfo,
    &kEventLoopLagSeconds,
    &kBuildInfo,
    &kConfigLastReloadSuccessful,
    &kConfigLastReloadSuccessTimestampSeconds,
    &kHttpOpenConnections,
    &kHttpMaxConnections,
    &kHttpConnectionsClosedAtLimitTotal,
    &kLogMessagesDroppedTotal,
    &kProcessCpuSecondsTotal,
    &kProcessResidentMemoryBytes,
    &kProcessVirtualMemoryBytes,
    &kProcessStartTimeSeconds,
    &kProcessOpenFds,
    &kProcessMaxFds,
    &kDataAgeSeconds,
    &kDataMaxAgeSeconds,
    &kPostgresConnectDurationSeconds,
    &kPostgresQueryDurationSeconds,
    &kPostgresServerInfo,
    &kReplicationSlotActive,
    &kReplicationSlotRetainedBytes,
    &kReplicationLagSeconds,
    &kReplicationLagBytes,
    &kWalArchiveFailedTotal,
    &kWalArchiveReadyFiles,
    &kBaselineRatio,
    &kSecurityFindings,
    &kSchemaDrift,
    &kSchemaLastChangeTimestampSeconds,
    &kHttpPhaseDurationSeconds,
    &kHttpStatusCode,
    &kHttpTlsCertExpiryTimestampSeconds,
    &kSupabasePitrEnabled,
    &kSupabasePitrWindowSeconds,
    &kSupabaseMinPitrWindowSeconds,
    &kSupabaseConfigChangedTimestampSeconds,
    &kStorageFreeBytes,
    &kStorageFreeInodes,
    &kStorageReplicationLagSeconds,
    &kStorageReplicationMaxLagSeconds,
    &kBackupNewestSizeBytes,
    &kBackupObjects,
    &kBackupLastSuccessTimestampSeconds,
    &kBackupDurationSeconds,
    &kBackupSizeBytes,
    &kBackupThroughputBytesPerSecond,
    &kBackupDurationRatio,
    &kRestoreDurationSeconds,
    &kRestoreVerifiedTables,
    &kRestoreThroughputBytesPerSecond,
    &kRestoreLastSuccessTimestampSeconds,
};

}  // namespace

Sample Family::Make(double value, Labels labels) const {
  return Sample{std::string(name), std::string(help), type, std::move(labels), value};
}

Sample Family::Make(std::shared_ptr<const HistogramValue> histogram, Labels labels) const {
  return Sample{std::string(name), std::string(help), type, std::move(labels), 0, std::move(histogram)};
}

std::span<const Family* const> AllFamilies() { return kAll; }

const Family* FindFamily(std::string_view name) {
  for (const Family* family : kAll) {
    if (family->name == name) return family;
  }
  return nullptr;
}

Sample QueryColumn(std::string_view column, double value, Labels labels) {
  std::string name = "drwatch_query_" + std::string(column);
  std::string help = "Column " + std::string(column) + " of a postgres.query check.";
  return Sample{std::move(name), std::move(help), MetricType::kGauge, std::move(labels), value};
}

}  // namespace drwatch::metrics
