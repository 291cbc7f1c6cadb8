/** Admin: the partitions of segments and jobs, how many months ahead exist, and the archives. */

import { api, unwrap, type Schemas } from "../api/client";
import { Gate } from "../components/Gate";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";
import "../styles/manage.css";

type Table = Schemas["TablePartitionsOut"];

function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : "—";
}

function TablePartitions({ table, required }: { table: Table; required: number }) {
  const enough = table.months_ahead >= required;
  const id = `table-${table.table}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{table.table}</h2>
      <p>
        <span class={enough ? "ok-text" : "warn-text"}>
          {table.months_ahead} month{table.months_ahead === 1 ? "" : "s"} ahead
        </span>{" "}
        (at least {required} wanted){table.horizon ? ` · covered until ${day(table.horizon)}` : ""}
      </p>
      <div class="table-scroll">
        <table class="data">
          <caption class="visually-hidden">Partitions of {table.table}</caption>
          <thead>
            <tr>
              <th scope="col">Partition</th>
              <th scope="col">From</th>
              <th scope="col">Until</th>
              <th scope="col">Rows (estimate)</th>
            </tr>
          </thead>
          <tbody>
            {table.partitions.map((p) => (
              <tr key={p.name}>
                <td>
                  {p.name}
                  {p.is_default ? " (default)" : ""}
                </td>
                <td>{day(p.range_from)}</td>
                <td>{day(p.range_to)}</td>
                <td>{p.row_estimate === null || p.row_estimate < 0 ? "not analysed yet" : p.row_estimate.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Partitions() {
  const report = useLoaded(() => unwrap(api.GET("/v1/admin/partitions")));
  if (report.problem) return <ProblemMessage problem={report.problem} />;
  const r = report.data;
  if (!r) return <Loading what="the partitions" />;
  return (
    <>
      {r.warnings.length ? (
        <div class="problem" role="alert">
          <strong>Needs attention</strong>
          <ul>
            {r.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : (
        <p class="ok-text">Every partitioned table reaches far enough ahead.</p>
      )}
      {r.tables.map((t) => (
        <TablePartitions key={t.table} table={t} required={r.required_months_ahead} />
      ))}
      <section aria-labelledby="archives-heading">
        <h2 id="archives-heading">Archives</h2>
        {r.archives.length ? (
          <ul class="plain">
            {r.archives.map((a) => (
              <li key={a.partition}>
                <strong>{a.partition}</strong> ({a.table}, {day(a.range_from)} – {day(a.range_to)}) · {a.status}
                {a.row_count !== null ? ` · ${a.row_count.toLocaleString()} rows` : ""}
              </li>
            ))}
          </ul>
        ) : (
          <Empty>No partition has been archived yet.</Empty>
        )}
      </section>
    </>
  );
}

export function AdminPage() {
  return (
    <Gate title="Partitions" role="admin" purpose="to see the partitions">
      {() => (
        <>
          <h1>Partitions</h1>
          <p class="meta">Segments and jobs are split by month; new months must exist before they begin.</p>
          <Partitions />
        </>
      )}
    </Gate>
  );
}
