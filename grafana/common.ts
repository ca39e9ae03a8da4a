// What the three dashboards share: the datasource and the job, instance and backend variables,
// Prometheus targets bound to the chosen datasource, and links that keep the variables.

import {
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';

export const UIDS = { overview: 'nosrv-haproxy-503s', backend: 'nosrv-haproxy-backend', nosrv: 'nosrv-exporter' } as const;

/** Every panel and variable reads the datasource chosen in the dashboard, never a fixed one. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The series of nosrv's job and instances chosen above. */
export const SEL = 'job=~"$job",instance=~"$instance"';

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

export function jobVariable(): QueryVariableBuilder {
  return new QueryVariableBuilder('job')
    .label('Job')
    .datasource(DATASOURCE)
    .query('label_values(haproxy_up, job)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

export function instanceVariable(): QueryVariableBuilder {
  return new QueryVariableBuilder('instance')
    .label('HAProxy node (nosrv)')
    .datasource(DATASOURCE)
    .query('label_values(haproxy_up{job=~"$job"}, instance)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

export function backendVariable(): QueryVariableBuilder {
  return new QueryVariableBuilder('backend')
    .label('Backend')
    .datasource(DATASOURCE)
    .query(`label_values(haproxy_backend_servers{${SEL}}, proxy)`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
}

/** A range query for a time series panel. */
export function series(refId: string, expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).refId(refId).expr(expr).legendFormat(legend).range();
}

/** An instant query, as a table. */
export function instant(refId: string, expr: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).refId(refId).expr(expr).instant().format(PromQueryFormat.Table);
}

/** Links to the other dashboards, keeping the time range and the variables. */
export function dashboardLinks(): DashboardLinkBuilder[] {
  return [new DashboardLinkBuilder('nosrv dashboards').type(DashboardLinkType.Dashboards).tags(['nosrv']).asDropdown(false).includeVars(true).keepTime(true)];
}

/** `/explain` on the nosrv that exported the row: its instance is where people reach it. */
export const EXPLAIN_LINK = {
  title: 'Why: /explain on that nosrv',
  url: 'http://${__data.fields.instance}/explain?backend=${__data.fields.proxy}',
  targetBlank: true,
};

export const BACKEND_LINK = {
  title: 'This backend: servers, checks, sessions',
  url: `/d/${UIDS.backend}?\${__url_time_range}&\${job:queryparam}&\${instance:queryparam}&\${datasource:queryparam}&var-backend=\${__data.fields.proxy}`,
};

/** The runbook of an alert's row, served by the nosrv that exported it. */
export const RUNBOOK_LINK = { title: 'Runbook', url: 'http://${__data.fields.instance}/runbooks/${__data.fields.alertname}', targetBlank: true };
