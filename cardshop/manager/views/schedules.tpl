% rebase('base.tpl', title="Schedules")
<h1>Schedules and auto-images</h1>
<p><a href="/schedules/new" class="button">New schedule</a></p>
% if not schedules:
<p class="muted" id="no-schedules">No schedules yet — <a href="/schedules/new">add one</a> (an auto-image rebuilds a recipe's image on a timetable).</p>
% else:
<table class="list" id="schedules">
  <thead><tr><th>Name</th><th>Job</th><th>When</th><th>State</th><th>Last run</th><th>Took</th><th>Result</th><th>Runs</th><th></th></tr></thead>
  <tbody>
  % for schedule in schedules:
  <tr data-schedule="{{schedule['name']}}">
    <td><a href="/schedules/{{schedule['name']}}">{{schedule['name']}}</a></td>
    <td>{{schedule['job']}}{{(' of ' + str(schedule['params'].get('name', ''))) if schedule['job'] == 'auto_image' else ''}}</td>
    <td>{{f"every {schedule['every']} s" if schedule.get('every') else schedule.get('crontab', '')}}</td>
    <td>{{'on' if schedule['enabled'] else 'paused'}}</td>
    <td>{{when(schedule.get('last_run_at'))}}</td>
    % run = last_run(schedule)
    <td class="took{{' slow' if run['slow'] else ''}}"{{!' title="longer than a tenth of its period"' if run['slow'] else ''}}>{{run['took']}}</td>
    <td class="result{{' failed' if run['failed'] else ''}}"><code>{{run['result']}}</code></td>
    <td>{{schedule.get('total_run_count', 0)}}</td>
    <td><form method="post" action="/schedules/{{schedule['name']}}" class="inline">
      <input type="hidden" name="csrf" value="{{session.csrf}}">
      <button type="submit" name="action" value="{{'pause' if schedule['enabled'] else 'resume'}}" class="secondary">{{'Pause' if schedule['enabled'] else 'Resume'}}</button>
    </form>
    % if schedule['job'] == 'auto_image':
    <a href="/orders/new?schedule={{schedule['name']}}">Order its recipe</a>
    % end
    </td>
  </tr>
  % end
  </tbody>
</table>
% end
