import type { ScenarioName } from '../settings.js';
import { balanceReadScenario } from './balance-read.js';
import { holdsScenario } from './holds.js';
import { hotAccountScenario } from './hot-account.js';
import type { Scenario } from './scenario.js';
import { spendScenario } from './spend.js';
import { webhookIngestScenario } from './webhook-ingest.js';

/** Every scenario by name; they run one after another in the order of SCENARIO_NAMES. */
export const allScenarios: Record<ScenarioName, Scenario> = {
  spend: spendScenario,
  hot: hotAccountScenario,
  balance: balanceReadScenario,
  holds: holdsScenario,
  webhooks: webhookIngestScenario,
};
