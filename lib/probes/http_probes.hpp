#pragma once
// Parsers of the HTTP-based probe kinds, one per file: http.cpp (kind http),
// supabase_backups.cpp (kind supabase.backups).

#include <memory>

#include "net/http_client.hpp"
#include "probes/probe.hpp"

namespace drwatch::probes {

std::unique_ptr<Probe> ParseHttpProbe(config::NodeReader& check);
std::unique_ptr<Probe> ParseSupabaseBackups(config::NodeReader& check);

/// Samples every HTTP-based kind exports from one exchange: the phase
/// durations that happened, the status code once a response arrived, and the
/// certificate's notAfter for https.
void AppendHttpSamples(const net::HttpResult& result, std::vector<metrics::Sample>& out);

}  // namespace drwatch::probes
