{#- Every row describes the build's day: `date_column` (default as_of_date) equals
    as_of_date (the `as_of_date` var, else the UTC day the run started:
    macros/as_of_date.sql); with on_or_before, it is no later than as_of_date (a history
    that ends on the build's day). Nulls are not_null's business. Returns the rows of
    another day. -#}
{% test revops_describes_as_of_date(model, date_column='as_of_date', on_or_before=false) %}

select {{ adapter.quote(date_column) }} as described_date
from {{ model }}
where {{ adapter.quote(date_column) }} {{ '>' if on_or_before else '<>' }} {{ as_of_date() }}

{% endtest %}
