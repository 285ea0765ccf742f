package dev.sluice.lb;

import dev.sluice.k8s.Service;
import java.util.List;

/**
 * Everything the model derived for one Service: its status and its frontends on all nodes.
 *
 * @param spec the Service it was derived from (for listings: ports, traffic policies)
 */
public record ServiceLb(String service, Service spec, ServiceStatus status, List<Frontend> frontends) {}
