/** Reporting: result tables (CSV + markdown), plotly figure specs and HTML, static PNG/SVG export. */
export * from './table';
export * from './plot';
export * from './export';
