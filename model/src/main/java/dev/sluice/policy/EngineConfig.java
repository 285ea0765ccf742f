package dev.sluice.policy;

import dev.sluice.config.Values;
import dev.sluice.identity.LabelFilter;

/**
 * Engine settings from the values file: {@code policyEnforcementMode} (default: endpoints are open
 * until a policy selects them per direction; always: every endpoint is default deny; never: no
 * enforcement at all), {@code policyAuditMode} (verdicts computed and reported, drops not done),
 * and the identity label filter ({@code labels}).
 */
public record EngineConfig(String enforcementMode, boolean audit, LabelFilter labelFilter) {
    public static final EngineConfig DEFAULT = new EngineConfig("default", false, LabelFilter.DEFAULT);

    public EngineConfig {
        if (!enforcementMode.equals("default") && !enforcementMode.equals("always") && !enforcementMode.equals("never"))
            throw new IllegalArgumentException("policyEnforcementMode: " + enforcementMode + " (expected one of: default, always, never)");
    }

    public static EngineConfig from(Values v) {
        return new EngineConfig(v.policyEnforcementMode(), v.policyAuditMode(), LabelFilter.of(v.identityLabels()));
    }

    public EngineConfig withMode(String mode) { return new EngineConfig(mode, audit, labelFilter); }
}
